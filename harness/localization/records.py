"""Turn the analysis results into the records of a ``SafetyLayerProfile``."""

from __future__ import annotations

from harness.layers import LayerRange
from harness.localization.gap import BandResult
from harness.localization.profile import (
    AlphaRecord,
    Band,
    Existence,
    PairCurves,
    SearchRecord,
    StepRecord,
    SweepRecord,
    flags,
)
from harness.localization.search import SearchResult, Sweep
from harness.localization.similarity import PairStats, SimilarityCurves


def _pair(stats: PairStats) -> PairCurves:
    return PairCurves(
        cos_mean=stats.cos_mean,
        cos_std=stats.cos_std,
        angle_mean_deg=stats.angle_mean_deg,
        pairs=stats.pairs,
    )


def existence_record(
    curves: SimilarityCurves, floor: list[float], band: BandResult
) -> Existence:
    """The existence section: curves, gap, per-layer noise floor, band verdict."""
    return Existence(
        mode=curves.mode,
        nn=_pair(curves.nn),
        mm=_pair(curves.mm),
        nm=_pair(curves.nm),
        gap_deg=curves.gap_deg,
        noise_floor_deg=floor,
        band=Band(
            found=band.found,
            first=band.first,
            last=band.last,
            base_layer=band.rise.base_layer,
            peak_layer=band.rise.peak_layer,
            rise_deg=band.rise.rise_deg,
            noise_floor_deg=band.noise_floor_deg,
            p_value=band.p_value,
            reason=band.reason,
        ),
    )


def sweep_record(
    sweep: Sweep, refused: dict[tuple[int, int], str | None]
) -> SweepRecord:
    """One sweep with its paired comparisons and per-query flags."""
    steps = []
    for step in sweep.steps:
        versus = step.versus_winner
        steps.append(
            StepRecord(
                range=step.layer_range,
                count=step.count,
                difference=None if versus is None else versus.difference,
                only_step=None if versus is None else versus.only_step,
                only_winner=None if versus is None else versus.only_winner,
                p_value=None if versus is None else versus.p_value,
                significant=None if versus is None else versus.significant,
                refused=refused.get(step.layer_range),
            )
        )
    return SweepRecord(
        kind=sweep.kind,
        alpha=sweep.alpha,
        winner=sweep.winner,
        unique_winner=sweep.unique_winner,
        spread=sweep.spread,
        margin_within_noise=sweep.margin_within_noise,
        winner_at_edge=sweep.winner_at_edge,
        steps=steps,
    )


def search_record(
    result: SearchResult,
    baseline_refused: tuple[bool, ...] | None,
    refused: dict[tuple[LayerRange, float], tuple[bool, ...]],
) -> SearchRecord:
    """The search section; ``refused`` maps (range, alpha) to per-query flags."""

    def at(alpha: float) -> dict[tuple[int, int], str | None]:
        return {r: flags(f) for (r, a), f in refused.items() if a == alpha}

    return SearchRecord(
        initial_range=result.initial_range,
        queries=result.queries,
        baseline=result.baseline,
        baseline_refused=flags(baseline_refused),
        direction=result.direction,
        alpha=result.alpha,
        alpha_trials=[
            AlphaRecord(alpha=t.alpha, counts=t.counts, spread=t.spread)
            for t in result.alpha_trials
        ],
        spread_target=result.spread_target,
        spread_reached=result.spread_reached,
        upper=sweep_record(result.upper, at(result.alpha)),
        lower=sweep_record(result.lower, at(result.alpha)),
        located=result.located,
        conclusive=result.conclusive,
        margin_within_noise=result.margin_within_noise,
    )
