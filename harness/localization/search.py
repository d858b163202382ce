"""Boundary search over R_o, as pure logic over an oracle (paper §3.4.3, A.3.4).

1. Measure the baseline R_o (step 2).
2. Choose the direction: alpha > 1 with arg-max, or alpha < 1 with arg-min when
   the baseline is near saturation (Phi-3 in Table 1).
3. Choose alpha (App. A.3.4): from 1, move in steps of 0.05 and run the
   upper-bound sweep ``[i, j+k]`` at each alpha, until the sample standard
   deviation of its R_o values reaches ``min_spread_fraction`` of the query
   count (the paper's N_u = 15-20 of 721 queries; Table 4's 2.4 is too small).
   The paper's Table 4, its alpha study, varies the upper end with ``i`` fixed,
   so the sweep that fixes alpha is also the step-3 upper-bound sweep.
4. Upper bound ``j*`` = best of that sweep; lower bound ``i*`` = best of the
   sweep ``[i+k, j*]``. The located range is ``[i*, j*]`` (inclusive).

Ties go to the candidate closest to the initial bound, then the lower index.
A search is *conclusive* when the spread target was reached (or alpha was
given) and both sweeps have a single best candidate; otherwise no range is
claimed. Every step is compared with its sweep's winner query by query
(McNemar); a runner-up within noise flags the margin.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from harness.layers import LayerRange
from harness.localization.stats import PairedDifference, paired_difference

Direction = Literal["up", "down"]


class SearchSettings(BaseModel):
    """Knobs of the search; the defaults follow the paper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float | None = Field(
        default=None,
        gt=0.0,
        description="scaling factor of the sweeps (unset: chosen as in App. A.3.4)",
    )
    alpha_step: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="step of alpha away from 1 while it is chosen",
    )
    max_alpha_steps: int = Field(
        default=6, ge=1, description="alpha steps tried at most"
    )
    direction: Literal["auto", "up", "down"] = Field(
        default="auto",
        description="up: alpha > 1 and arg-max R_o; down: alpha < 1 and arg-min; "
        "auto: down when the unscaled R_o is near saturation",
    )
    saturation_fraction: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="auto direction: down when the unscaled model refuses at "
        "least this share of the queries",
    )
    min_spread_fraction: float = Field(
        default=0.02,
        ge=0.0,
        description="alpha is chosen once the upper sweep's R_o spread (sample "
        "std) reaches this share of the queries",
    )
    upper_window: tuple[int, int] = Field(
        default=(-2, 2),
        description="upper-bound offsets A..B around the initial j (on the "
        "command line --upper-window=-2,2)",
    )
    lower_window: tuple[int, int] = Field(
        default=(-2, 2),
        description="lower-bound offsets A..B around the initial i (on the "
        "command line --lower-window=-2,2)",
    )
    #: On zoo:smol-banded the lower sweep's winner sat on the edge of [-2, 2],
    #: one layer inside the planted band's bound (docs/localization.md).
    max_extension: int = Field(
        default=3,
        ge=0,
        description="grow a window by up to N layers while its winner sits on "
        "its edge (0: the paper's fixed windows)",
    )
    significance: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="level of the McNemar test that flags a margin within noise",
    )


@dataclass(frozen=True)
class RoPoint:
    """R_o of one scaled range; ``refused`` holds per-query flags when known."""

    layer_range: LayerRange | None
    alpha: float
    count: int
    refused: tuple[bool, ...] | None = None


class RoOracle(Protocol):
    """Measures R_o; the real one generates, test ones read a table."""

    queries: int

    def baseline(self) -> RoPoint:
        """R_o of the unscaled model."""
        ...

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        """R_o of every range scaled by alpha."""
        ...


@dataclass(frozen=True)
class SweepStep:
    """One candidate of a sweep and how it compares with the winner."""

    layer_range: LayerRange
    count: int
    versus_winner: PairedDifference | None


@dataclass(frozen=True)
class Sweep:
    """A sweep over one bound at a fixed alpha."""

    kind: Literal["upper", "lower"]
    alpha: float
    steps: list[SweepStep]
    winner: LayerRange
    unique_winner: bool
    spread: float
    margin_within_noise: bool | None
    #: The winner is the first or last candidate: a wider window might beat it.
    winner_at_edge: bool


@dataclass(frozen=True)
class AlphaTrial:
    """The upper-bound sweep's spread at one alpha (App. A.3.4)."""

    alpha: float
    counts: list[int]
    spread: float


@dataclass(frozen=True)
class SearchResult:
    """Everything the search measured and what it concluded."""

    initial_range: LayerRange
    queries: int
    baseline: int
    direction: Direction
    alpha: float
    alpha_trials: list[AlphaTrial]
    spread_target: float
    spread_reached: bool
    upper: Sweep
    lower: Sweep
    located: LayerRange
    conclusive: bool

    @property
    def margin_within_noise(self) -> bool:
        """Whether a runner-up of either sweep is not significantly worse."""
        return bool(self.upper.margin_within_noise or self.lower.margin_within_noise)


def spread(counts: Sequence[int]) -> float:
    """Sample standard deviation (ddof=1), the paper's Table 4 statistic."""
    return statistics.stdev(counts) if len(counts) > 1 else 0.0


def choose_direction(
    baseline: int, queries: int, settings: SearchSettings
) -> Direction:
    """alpha < 1 (arg-min) when R_o is near saturation, else alpha > 1 (arg-max)."""
    if settings.direction != "auto":
        return settings.direction
    near_saturation = baseline >= settings.saturation_fraction * queries
    return "down" if near_saturation else "up"


def window(centre: int, offsets: tuple[int, int], low: int, high: int) -> list[int]:
    """Candidate bounds ``centre + k`` for k in ``offsets``, clipped to [low, high]."""
    first, last = sorted(offsets)
    return [centre + k for k in range(first, last + 1) if low <= centre + k <= high]


def best_index(
    points: Sequence[RoPoint], bounds: Sequence[int], direction: Direction, prefer: int
) -> int:
    """Arg-max (arg-min when down) of R_o; ties: closest to ``prefer``, then lower."""
    sign = 1 if direction == "up" else -1
    return min(
        range(len(points)),
        key=lambda n: (-sign * points[n].count, abs(bounds[n] - prefer), bounds[n]),
    )


def locate_by_over_rejection(
    oracle: RoOracle,
    initial: LayerRange,
    num_layers: int,
    settings: SearchSettings | None = None,
) -> SearchResult:
    """Run steps 2-4 of paper §3.4.3 from the initial range ``initial``."""
    settings = settings or SearchSettings()
    first, last = initial
    baseline = oracle.baseline()
    direction = choose_direction(baseline.count, oracle.queries, settings)
    uppers = window(last, settings.upper_window, first, num_layers - 1)
    target = settings.min_spread_fraction * oracle.queries
    alpha, points, trials = _choose_alpha(
        oracle, [LayerRange(first, j) for j in uppers], direction, target, settings
    )
    uppers, points = _extend(
        oracle, uppers, points, lambda j: LayerRange(first, j), alpha,
        direction, last, (first, num_layers - 1), settings.max_extension,
    )  # fmt: skip
    upper = _sweep("upper", points, uppers, direction, last, settings)
    best_last = upper.winner[1]
    lowers = window(first, settings.lower_window, 0, best_last)
    lower_points = oracle.sweep([LayerRange(i, best_last) for i in lowers], alpha)
    lowers, lower_points = _extend(
        oracle, lowers, lower_points, lambda i: LayerRange(i, best_last), alpha,
        direction, first, (0, best_last), settings.max_extension,
    )  # fmt: skip
    lower = _sweep("lower", lower_points, lowers, direction, first, settings)
    reached = upper.spread >= target
    return SearchResult(
        initial_range=initial,
        queries=oracle.queries,
        baseline=baseline.count,
        direction=direction,
        alpha=alpha,
        alpha_trials=trials,
        spread_target=target,
        spread_reached=reached,
        upper=upper,
        lower=lower,
        located=lower.winner,
        conclusive=(reached or settings.alpha is not None)
        and upper.unique_winner
        and lower.unique_winner,
    )


def _extend(
    oracle: RoOracle,
    bounds: list[int],
    points: list[RoPoint],
    candidate: Callable[[int], LayerRange],
    alpha: float,
    direction: Direction,
    prefer: int,
    limits: tuple[int, int],
    steps: int,
) -> tuple[list[int], list[RoPoint]]:
    """Grow the window by one bound while the winner sits on its edge.

    At most ``steps`` new bounds, each measured at ``alpha`` and kept in
    order; a bound outside ``limits`` (the model, or the other bound) stops it.
    """
    bounds, points = list(bounds), list(points)
    for _ in range(steps):
        if not bounds:
            break
        best = bounds[best_index(points, bounds, direction, prefer)]
        if best == bounds[-1] and best < limits[1]:
            bounds.append(best + 1)
            points.extend(oracle.sweep([candidate(best + 1)], alpha))
        elif best == bounds[0] and best > limits[0]:
            bounds.insert(0, best - 1)
            points[:0] = oracle.sweep([candidate(best - 1)], alpha)
        else:
            break
    return bounds, points


def _choose_alpha(
    oracle: RoOracle,
    ranges: list[LayerRange],
    direction: Direction,
    target: float,
    settings: SearchSettings,
) -> tuple[float, list[RoPoint], list[AlphaTrial]]:
    """App. A.3.4: step alpha away from 1 until the sweep's spread is large enough.

    When the target is never reached, the alpha with the largest spread is used.
    """
    if settings.alpha is not None:
        points = oracle.sweep(ranges, settings.alpha)
        counts = [p.count for p in points]
        trial = AlphaTrial(settings.alpha, counts, spread(counts))
        return settings.alpha, points, [trial]
    sign = 1 if direction == "up" else -1
    trials: list[AlphaTrial] = []
    measured: dict[float, list[RoPoint]] = {}
    for step in range(1, settings.max_alpha_steps + 1):
        alpha = round(1.0 + sign * step * settings.alpha_step, 10)
        if alpha <= 0:
            break
        measured[alpha] = oracle.sweep(ranges, alpha)
        counts = [p.count for p in measured[alpha]]
        trials.append(AlphaTrial(alpha, counts, spread(counts)))
        if trials[-1].spread >= target:
            return alpha, measured[alpha], trials
    widest = max(trials, key=lambda t: t.spread)
    return widest.alpha, measured[widest.alpha], trials


def _sweep(
    kind: Literal["upper", "lower"],
    points: list[RoPoint],
    bounds: list[int],
    direction: Direction,
    prefer: int,
    settings: SearchSettings,
) -> Sweep:
    winner = best_index(points, bounds, direction, prefer)
    top = points[winner]
    steps = [
        SweepStep(
            layer_range=p.layer_range or LayerRange(0, 0),
            count=p.count,
            versus_winner=_versus(p, top, settings.significance),
        )
        for p in points
    ]
    others = [s for n, s in enumerate(steps) if n != winner]
    return Sweep(
        kind=kind,
        alpha=top.alpha,
        steps=steps,
        winner=top.layer_range or LayerRange(0, 0),
        unique_winner=all(s.count != top.count for s in others),
        spread=spread([p.count for p in points]),
        margin_within_noise=_margin_within_noise(others, direction),
        winner_at_edge=len(bounds) > 1 and bounds[winner] in (min(bounds), max(bounds)),
    )


def _versus(step: RoPoint, winner: RoPoint, level: float) -> PairedDifference | None:
    if step.refused is None or winner.refused is None:
        return None
    return paired_difference(step.refused, winner.refused, level=level)


def _margin_within_noise(others: list[SweepStep], direction: Direction) -> bool | None:
    """Whether the runner-up is statistically indistinguishable from the winner."""
    if not others or any(s.versus_winner is None for s in others):
        return None
    sign = 1 if direction == "up" else -1
    runner_up = max(others, key=lambda s: sign * s.count)
    assert runner_up.versus_winner is not None
    return not runner_up.versus_winner.significant
