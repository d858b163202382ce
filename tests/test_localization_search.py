"""The boundary search on scripted R_o tables: the paper's Tables 1, 4 and 5."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.localization.search import (
    LayerRange,
    RoPoint,
    SearchSettings,
    best_index,
    choose_direction,
    locate_by_over_rejection,
    spread,
    window,
)
from harness.localization.stats import mcnemar_exact, paired_difference

# paper Table 1 / Table 5 (docs/localization.md, note 5): R_o per scaled range,
# on 721 queries.
PHI3_ALPHA_08 = {
    (11, 13): 209, (11, 14): 190, (11, 15): 149, (11, 16): 181, (11, 17): 189,
    (13, 15): 237, (12, 15): 182, (10, 15): 177, (9, 15): 163,
}  # fmt: skip
LLAMA2 = {
    (9, 12): 187, (9, 13): 227, (9, 14): 237, (9, 15): 218, (9, 16): 219,
    (8, 14): 263, (7, 14): 268, (6, 14): 297, (5, 14): 189, (4, 14): 202,
}  # fmt: skip
LLAMA3 = {
    (7, 10): 272, (7, 11): 241, (7, 12): 283, (7, 13): 266, (7, 14): 256,
    (8, 12): 334, (6, 12): 371, (5, 12): 358, (4, 12): 223,
}  # fmt: skip
GEMMA = {
    (8, 9): 310, (8, 10): 335, (8, 11): 368, (8, 12): 343, (8, 13): 326,
    (7, 11): 371, (6, 11): 407, (5, 11): 404, (4, 11): 323,
}  # fmt: skip
PHI3_ALPHA_12 = {
    (11, 13): 292, (11, 14): 329, (11, 15): 368, (11, 16): 311, (11, 17): 299,
    (9, 15): 330, (10, 15): 350, (12, 15): 293, (13, 15): 279,
}  # fmt: skip


class TableOracle:
    """R_o read from a table keyed by (range, alpha); records what was asked."""

    def __init__(
        self,
        tables: dict[float, dict[LayerRange, int]],
        baseline: int,
        queries: int = 721,
    ) -> None:
        self.tables = tables
        self.base = baseline
        self.queries = queries
        self.asked: list[tuple[LayerRange, float]] = []

    def baseline(self) -> RoPoint:
        return RoPoint(None, 1.0, self.base)

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        self.asked.extend((r, alpha) for r in ranges)
        return [RoPoint(r, alpha, self.tables[alpha][r]) for r in ranges]


CASES = [
    # model, table, alpha, baseline, initial (paper Table 5), windows, paper's range
    ("Phi-3 a=0.8", PHI3_ALPHA_08, 0.8, 270, (11, 15), (-2, 2), (-2, 2), (11, 15)),
    ("Llama-2", LLAMA2, 1.15, 169, (9, 14), (-2, 2), (-5, -1), (6, 14)),
    ("Llama-3", LLAMA3, 1.2, 139, (7, 12), (-2, 2), (-3, 1), (6, 12)),
    ("gemma", GEMMA, 1.1, 268, (8, 11), (-2, 2), (-4, 0), (6, 11)),
    ("Phi-3 a=1.2", PHI3_ALPHA_12, 1.2, 270, (11, 15), (-2, 2), (-2, 2), (11, 15)),
]


@pytest.mark.parametrize(
    ("table", "alpha", "baseline", "initial", "upper", "lower", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_search_returns_the_papers_ranges(
    table: dict[LayerRange, int],
    alpha: float,
    baseline: int,
    initial: LayerRange,
    upper: tuple[int, int],
    lower: tuple[int, int],
    expected: LayerRange,
) -> None:
    settings = SearchSettings(
        alpha=alpha,
        direction="down" if alpha < 1 else "up",
        upper_window=upper,
        lower_window=lower,
    )
    result = locate_by_over_rejection(
        TableOracle({alpha: table}, baseline), initial, 32, settings
    )
    assert result.located == expected
    assert result.conclusive
    assert result.upper.winner[0] == initial[0]  # step 3 keeps the lower bound
    assert not result.upper.winner_at_edge and not result.lower.winner_at_edge


def test_automatic_alpha_reaches_each_table1_alpha() -> None:
    # App. A.3.4: with N_u = 2% of 721 queries (14.4), every Table 1 sweep at the
    # paper's alpha is spread enough; the search picks that alpha when the
    # earlier steps are flat, whatever the model.
    for name, table, alpha, baseline, initial, upper, lower, expected in CASES[:4]:
        direction = "down" if alpha < 1 else "up"
        steps = round(abs(alpha - 1) / 0.05)
        sign = -1 if direction == "down" else 1
        flat = {
            round(1 + sign * 0.05 * s, 10): dict.fromkeys(table, baseline + s)
            for s in range(1, steps)
        }
        oracle = TableOracle({**flat, alpha: table}, baseline)
        settings = SearchSettings(
            direction=direction, upper_window=upper, lower_window=lower
        )
        result = locate_by_over_rejection(oracle, initial, 32, settings)
        assert result.alpha == alpha, name
        assert result.spread_reached, name
        assert result.located == expected, name
        assert [t.alpha for t in result.alpha_trials][-1] == alpha


def test_table4_spread_is_the_papers_average_std() -> None:
    # paper Table 4 (alpha 1.05): "average std across these is 2.4" (ddof=1).
    llama3 = [199, 197, 192, 194]
    llama2 = [185, 184, 183, 187]
    assert (spread(llama3) + spread(llama2)) / 2 == pytest.approx(2.4, abs=0.01)


def test_alpha_never_spread_enough_is_inconclusive() -> None:
    flat = {round(1 + 0.05 * s, 10): dict.fromkeys(LLAMA3, 0) for s in range(1, 7)}
    settings = SearchSettings(upper_window=(-2, 2), lower_window=(-3, 1))
    result = locate_by_over_rejection(TableOracle(flat, 0), (7, 12), 32, settings)
    assert not result.spread_reached
    assert not result.conclusive
    assert [t.alpha for t in result.alpha_trials] == [1.05, 1.1, 1.15, 1.2, 1.25, 1.3]
    assert not result.upper.unique_winner


def test_direction_follows_saturation() -> None:
    settings = SearchSettings()
    assert choose_direction(100, 721, settings) == "up"
    assert choose_direction(400, 721, settings) == "down"
    assert choose_direction(400, 721, SearchSettings(direction="up")) == "up"


def test_window_is_clipped_and_inclusive() -> None:
    assert window(12, (-2, 2), 7, 31) == [10, 11, 12, 13, 14]
    assert window(1, (-2, 2), 0, 31) == [0, 1, 2, 3]
    assert window(30, (2, -2), 0, 31) == [28, 29, 30, 31]


def test_ties_go_to_the_initial_bound_then_lower() -> None:
    points = [RoPoint((7, j), 1.2, 5) for j in (10, 11, 12, 13)]
    assert best_index(points, [10, 11, 12, 13], "up", prefer=12) == 2
    assert best_index(points, [10, 11, 12, 13], "up", prefer=20) == 3
    lows = [RoPoint((i, 12), 1.2, c) for i, c in ((5, 3), (6, 9), (7, 9))]
    assert best_index(lows, [5, 6, 7], "down", prefer=9) == 0


def flags(refused: int, total: int = 40) -> tuple[bool, ...]:
    return tuple(k < refused for k in range(total))


class FlagOracle(TableOracle):
    """Like TableOracle, with nested per-query flags (refusals are prefixes)."""

    def baseline(self) -> RoPoint:
        return RoPoint(None, 1.0, self.base, flags(self.base))

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        return [
            RoPoint(r, alpha, p.count, flags(p.count))
            for r, p in zip(ranges, super().sweep(ranges, alpha), strict=True)
        ]


def test_sweep_steps_carry_paired_tests_and_the_margin_flag() -> None:
    clear = {(2, 3): 10, (2, 4): 30, (2, 5): 12, (1, 4): 9, (3, 4): 11}
    close = {**clear, (2, 5): 28}
    for table, within in ((clear, False), (close, True)):
        settings = SearchSettings(alpha=1.2, upper_window=(-1, 1), lower_window=(-1, 1))
        oracle = FlagOracle({1.2: table}, 5, queries=40)
        result = locate_by_over_rejection(oracle, (2, 4), 8, settings)
        assert result.located == (2, 4)
        step = next(s for s in result.upper.steps if s.layer_range == (2, 3))
        assert step.versus_winner is not None
        assert step.versus_winner.difference == -20
        assert step.versus_winner.only_winner == 20
        assert step.versus_winner.significant
        assert result.upper.margin_within_noise is within
        assert result.margin_within_noise is within


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    from math import comb

    assert mcnemar_exact(0, 5) == 0.0625  # 2 * (1/2)^5
    assert mcnemar_exact(1, 9) == 2 * (1 + 10) / 2**10
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(7, 7) == 1.0
    for b, c in ((3, 11), (20, 35), (140, 170)):
        n = b + c
        tail = sum(comb(n, k) * 0.5**n for k in range(min(b, c) + 1))
        assert mcnemar_exact(b, c) == pytest.approx(min(1.0, 2 * tail), rel=1e-12)
    step = (True, True, False, False, True)
    winner = (True, False, True, True, True)
    paired = paired_difference(step, winner)
    assert (paired.only_step, paired.only_winner, paired.difference) == (1, 2, -1)
    assert not paired.significant


def test_a_winner_on_the_window_edge_is_flagged() -> None:
    growing = {(i, 4): 10 * (5 - i) for i in range(1, 4)} | {(2, j): 5 for j in (3, 5)}
    settings = SearchSettings(
        alpha=1.2, upper_window=(-1, 1), lower_window=(-1, 1), max_extension=0
    )
    result = locate_by_over_rejection(
        TableOracle({1.2: {**growing, (2, 4): 30}}, 0, queries=40), (2, 4), 8, settings
    )
    assert result.located == (1, 4)
    assert result.lower.winner_at_edge
    assert not result.upper.winner_at_edge


def test_a_window_grows_while_its_winner_sits_on_the_edge() -> None:
    # Lower sweep around 2 with window ±1: the winner 1 sits on the edge, so the
    # search measures [0, 4] too; R_o falls there, and 1 is an interior winner.
    table = {(0, 4): 35, (1, 4): 40, (2, 4): 30, (3, 4): 20}
    table |= {(2, 3): 5, (2, 4): 30, (2, 5): 10}
    settings = SearchSettings(alpha=1.2, upper_window=(-1, 1), lower_window=(-1, 1))
    oracle = TableOracle({1.2: table}, 0, queries=40)
    result = locate_by_over_rejection(oracle, (2, 4), 8, settings)
    assert result.located == (1, 4) and not result.lower.winner_at_edge
    assert [step.layer_range for step in result.lower.steps] == [
        (0, 4), (1, 4), (2, 4), (3, 4)
    ]  # fmt: skip
    assert ((0, 4), 1.2) in oracle.asked and ((2, 6), 1.2) not in oracle.asked


def test_a_growing_window_stops_at_the_model_and_at_its_limit() -> None:
    table = {(i, 4): 10 * (5 - i) for i in range(0, 4)}  # R_o grows toward layer 0
    table |= {(3, 3): 5, (3, 4): 20, (3, 5): 10, (4, 4): 5}
    oracle = TableOracle({1.2: table}, 0, queries=60)
    settings = SearchSettings(alpha=1.2, upper_window=(-1, 1), lower_window=(-1, 1))
    result = locate_by_over_rejection(oracle, (3, 4), 8, settings)
    assert result.located == (0, 4) and result.lower.winner_at_edge  # layer 0
    limited = SearchSettings(
        alpha=1.2, upper_window=(-1, 1), lower_window=(-1, 1), max_extension=1
    )
    oracle = TableOracle({1.2: table}, 0, queries=60)
    assert locate_by_over_rejection(oracle, (3, 4), 8, limited).located == (1, 4)
