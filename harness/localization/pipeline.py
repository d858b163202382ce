"""The two measuring steps of a localization, with timings and progress bars."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from harness.layers import LayerRange
from harness.localization.data import QuerySet
from harness.localization.gap import BandResult, PermutationNull, find_band
from harness.localization.over_rejection import OverRejectionEvaluator
from harness.localization.profile import SearchRecord
from harness.localization.records import search_record
from harness.localization.search import RoPoint, locate_by_over_rejection
from harness.localization.settings import LocalizationSettings
from harness.localization.similarity import SimilarityCurves
from harness.progress import progress_bar
from harness.prompts import PromptFormatter


def existence_step(
    model: Any,
    tokenizer: Any,
    formatter: PromptFormatter,
    sets: Mapping[str, QuerySet],
    settings: LocalizationSettings,
    timings: dict[str, float],
) -> tuple[SimilarityCurves, PermutationNull, BandResult]:
    """Hidden states, similarity curves, noise floor and the gap rule."""
    from harness.localization.activations import last_token_states
    from harness.localization.gap import permutation_null
    from harness.localization.similarity import exact_curves, sampled_curves

    started = time.perf_counter()
    normal, malicious = sets["normal"].prompts, sets["malicious"].prompts
    with progress_bar(len(normal) + len(malicious), "hidden states") as advance:
        states = [
            last_token_states(
                model,
                tokenizer,
                formatter.prompts(queries),
                batch_size=settings.batch_size,
                advance=advance,
            )
            for queries in (normal, malicious)
        ]
    timings["hidden_states_s"] = time.perf_counter() - started
    started = time.perf_counter()
    if settings.pairs == "exact":
        curves = exact_curves(*states)
    else:
        curves = sampled_curves(*states, pairs=settings.sample_pairs)
    normal_states, malicious_states = states
    null = permutation_null(
        normal_states, malicious_states, settings.gap, seed=settings.seed
    )
    band = find_band(curves.gap_deg, null.rises_deg, settings.gap)
    timings["similarity_s"] = time.perf_counter() - started
    return curves, null, band


class EvaluatorOracle:
    """Adapts :class:`OverRejectionEvaluator` to the search's oracle protocol."""

    def __init__(self, evaluator: OverRejectionEvaluator, boundary: int) -> None:
        self.evaluator = evaluator
        self.queries = len(evaluator)
        self.boundary = boundary
        self.refused: dict[tuple[LayerRange, float], tuple[bool, ...]] = {}
        self.baseline_refused: tuple[bool, ...] | None = None
        self.evaluations = 0

    def baseline(self) -> RoPoint:
        """Unscaled R_o; its pass records the blocks below the initial range."""
        with progress_bar(self.queries, "R_o baseline") as advance:
            measured = self.evaluator.measure(
                None, 1.0, boundary=self.boundary, advance=advance
            )
        self.baseline_refused = measured.refused
        self.evaluations += 1
        return RoPoint(None, 1.0, measured.count, measured.refused)

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        """R_o of each range scaled by alpha."""
        total = self.queries * len(ranges)
        with progress_bar(total, f"R_o sweep alpha={alpha:g}") as advance:
            measured = self.evaluator.measure_many(ranges, alpha, advance=advance)
        points = []
        for m in measured:
            assert m.layer_range is not None
            self.refused[(m.layer_range, alpha)] = m.refused
            points.append(RoPoint(m.layer_range, alpha, m.count, m.refused))
        self.evaluations = self.evaluator.evaluations
        return points


def search_step(
    model: Any,
    tokenizer: Any,
    formatter: PromptFormatter,
    over_rejection: QuerySet,
    settings: LocalizationSettings,
    initial: LayerRange,
    timings: dict[str, float],
) -> SearchRecord:
    """The over-rejection search from ``initial``; returns its profile record."""
    from harness.layers import num_layers

    started = time.perf_counter()
    evaluator = OverRejectionEvaluator(
        model,
        tokenizer,
        formatter.prompts(over_rejection.prompts),
        make_judge(settings.judge),
        instructions=over_rejection.prompts,
        max_new_tokens=settings.max_new_tokens,
        batch_size=settings.batch_size,
        include_o_proj=settings.include_o_proj,
    )
    # The baseline pass records the blocks below the lowest block any sweep scales.
    lowest = initial[0] + min(settings.search.lower_window)
    oracle = EvaluatorOracle(evaluator, boundary=max(0, min(lowest, initial[0])))
    result = locate_by_over_rejection(
        oracle, initial, num_layers(model), settings.search
    )
    timings["search_s"] = time.perf_counter() - started
    timings["ro_evaluations"] = float(evaluator.evaluations)
    return search_record(result, oracle.baseline_refused, oracle.refused)


def make_judge(name: str) -> Any:
    """The incremental refusal judge of the R_o measurements."""
    from harness.localization.openings import FinalTextJudge, OpeningJudge

    if name == "opening":
        return OpeningJudge()
    from harness.judges import create_judge

    return FinalTextJudge(create_judge(name))
