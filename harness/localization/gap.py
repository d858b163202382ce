"""The initial safety range from the angle-gap curve, and its noise floor.

Paper §3.4.3 step 1: the initial range runs "from the appearance of the gap to
the first smoothing". This module makes that rule precise.

Definitions, over the analysed layers ``0..A-1`` (by default every block but
the last, whose HF vector is taken after the final norm and so is not a pure
residual-stream output; docs/localization.md, note 1):

* ``g[k]``: the angle gap of layer ``k`` in degrees; ``d[k] = g[k] - g[k-1]``.
* peak ``p = argmax g``; base ``b = min(g[0..p])``; **rise** ``R = g[p] - b``.
* **noise floor**: the ``q`` quantile (default 0.95) of the rise ``R`` computed
  the same way on curves whose N/M labels were randomly permuted (exact pair
  statistics, so the only randomness is the labelling). A band is *clear* only
  if ``R`` exceeds that floor **and** ``min_rise_deg``; otherwise the result is
  "no clear safety band" and no range is reported.
* **onset** ``i``: the first layer at or after the base layer where
  ``g[k] - b >= onset_fraction * R`` (the gap appears).
* **end** ``j``: the first layer ``k`` in ``[i, p)`` that has reached
  ``level_fraction * R`` and after which growth flattens, i.e.
  ``d[k+1] < flat_fraction * max(d[i..k])``; ``p`` when growth never flattens
  before the peak.

The range ``[i, j]`` is inclusive and 0-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from harness.layers import LayerRange
from harness.localization.similarity import angles_deg, cosine_matrix

if TYPE_CHECKING:
    import torch


class GapRule(BaseModel):
    """Thresholds of the initial-range rule (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    onset_fraction: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="the band starts where the gap has risen by this share of its rise",
    )
    level_fraction: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="the band may end only once the gap has risen by this share",
    )
    flat_fraction: float = Field(
        default=0.25,
        gt=0.0,
        lt=1.0,
        description="the band ends where the gap grows by less than this share "
        "of its steepest step so far",
    )
    #: 1.6 deg, measured (docs/localization.md "The minimum rise"): the planted
    #: band of smol-banded rises 1.74 deg, qwen-coder's 1.50 deg bump is not
    #: confirmed by the search, band-less models stay under 1 deg.
    min_rise_deg: float = Field(
        default=1.6,
        ge=0.0,
        description="smallest gap rise (degrees) that counts as a band, besides "
        "beating the permutation floor",
    )
    permutations: int = Field(
        default=1000, ge=0, description="label permutations of the noise floor"
    )
    noise_quantile: float = Field(
        default=0.95,
        gt=0.0,
        lt=1.0,
        description="quantile of the permuted rises the gap must exceed",
    )
    exclude_final_layer: bool = Field(
        default=True,
        description="leave the last block (read after the final norm) out of "
        "the rule (docs/localization.md, note 1)",
    )


@dataclass(frozen=True)
class Rise:
    """Where a gap curve rises most: from ``base_layer`` to ``peak_layer``."""

    base_layer: int
    peak_layer: int
    rise_deg: float


@dataclass(frozen=True)
class BandResult:
    """Outcome of the rule: a clear band ``[first, last]``, or why there is none."""

    found: bool
    first: int | None
    last: int | None
    rise: Rise
    noise_floor_deg: float
    p_value: float | None
    reason: str


def rise_of(gap: Sequence[float]) -> Rise:
    """Return the rise of a gap curve: peak minus the lowest point before it."""
    peak = max(range(len(gap)), key=lambda k: gap[k])
    base = min(range(peak + 1), key=lambda k: gap[k])
    return Rise(base, peak, gap[peak] - gap[base])


def band_edges(gap: Sequence[float], rise: Rise, rule: GapRule) -> LayerRange:
    """Return the onset and end layers of a rising gap curve (module docstring)."""
    base = gap[rise.base_layer]
    first = next(
        k
        for k in range(rise.base_layer, rise.peak_layer + 1)
        if gap[k] - base >= rule.onset_fraction * rise.rise_deg
    )
    peak_growth = 0.0
    for k in range(first, rise.peak_layer):
        peak_growth = max(peak_growth, gap[k] - gap[k - 1] if k else 0.0)
        reached = gap[k] - base >= rule.level_fraction * rise.rise_deg
        # paper §3.4.3: the range ends where the gap's growth first levels off.
        if reached and gap[k + 1] - gap[k] < rule.flat_fraction * peak_growth:
            return LayerRange(first, k)
    return LayerRange(first, rise.peak_layer)


def find_band(
    gap: Sequence[float], null_rises: Sequence[float], rule: GapRule
) -> BandResult:
    """Apply the rule to a gap curve, given rises of label-permuted curves."""
    analysed = list(gap[:-1] if rule.exclude_final_layer and len(gap) > 2 else gap)
    rise = rise_of(analysed)
    floor = quantile(null_rises, rule.noise_quantile) if null_rises else 0.0
    p_value = _p_value(rise.rise_deg, null_rises)
    if rise.rise_deg <= floor or rise.rise_deg < rule.min_rise_deg:
        reason = (
            f"no clear safety band: the gap rises by only {rise.rise_deg:.2f} deg "
            f"(layers {rise.base_layer}->{rise.peak_layer}); it must exceed the "
            f"label-permutation noise floor {floor:.2f} deg and "
            f"{rule.min_rise_deg:.2f} deg"
        )
        return BandResult(False, None, None, rise, floor, p_value, reason)
    first, last = band_edges(analysed, rise, rule)
    reason = (
        f"the gap appears at layer {first} and first levels off at layer {last} "
        f"(rise {rise.rise_deg:.2f} deg > noise floor {floor:.2f} deg)"
    )
    return BandResult(True, first, last, rise, floor, p_value, reason)


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default method)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _p_value(observed: float, null: Sequence[float]) -> float | None:
    if not null:
        return None
    return (1 + sum(r >= observed for r in null)) / (len(null) + 1)


@dataclass(frozen=True)
class PermutationNull:
    """Gap curves with permuted N/M labels: their per-layer quantile and rises."""

    layer_floor_deg: list[float]
    rises_deg: list[float]


def permutation_null(
    normal: torch.Tensor,
    malicious: torch.Tensor,
    rule: GapRule,
    *,
    seed: int = 0,
    chunk: int = 100,
) -> PermutationNull:
    """Recompute the exact gap curve under ``rule.permutations`` label shuffles.

    The pooled angle matrix is built once per layer; each permutation is then a
    pair of masked sums, so a thousand shuffles cost about one Gram matrix each.
    """
    import torch

    pooled = torch.cat([normal, malicious])
    angles = angles_deg(cosine_matrix(pooled, pooled))
    angles.diagonal(dim1=1, dim2=2).zero_()
    generator = torch.Generator().manual_seed(seed)
    curves = [
        _permuted_gaps(angles, normal.shape[0], size, generator)
        for size in _chunks(rule.permutations, chunk)
    ]
    if not curves:
        return PermutationNull([0.0] * angles.shape[0], [])
    gaps = torch.cat(curves)  # [permutations, layers]
    floor = torch.quantile(gaps, rule.noise_quantile, dim=0).tolist()
    analysed = gaps[:, :-1] if rule.exclude_final_layer and gaps.shape[1] > 2 else gaps
    rises = [rise_of(row).rise_deg for row in analysed.tolist()]
    return PermutationNull(floor, rises)


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def _permuted_gaps(
    angles: torch.Tensor, n: int, count: int, generator: torch.Generator
) -> torch.Tensor:
    """Gap curves ``[count, layers]`` for ``count`` random relabellings."""
    import torch

    total = angles.shape[-1]
    order = torch.argsort(torch.rand(count, total, generator=generator), dim=1)
    labels = torch.zeros(count, total, dtype=angles.dtype)
    labels.scatter_(1, order[:, :n], 1.0)
    return labelled_gaps(angles, labels)


def labelled_gaps(angles: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Exact gap curves ``[labellings, layers]`` from a pooled angle matrix.

    Args:
        angles: ``[layers, T, T]`` pairwise angles (degrees) of the pooled N and
            M states, with a zero diagonal.
        labels: ``[labellings, T]``, 1.0 where a state counts as normal.
    """
    total = angles.shape[-1]
    n = int(labels[0].sum().item())
    m = total - n
    import torch

    within = torch.einsum("lij,bj->lbi", angles, labels)
    nn_sum = (within * labels).sum(-1)  # ordered N-N pairs; the diagonal is zero
    n_all = labels @ angles.sum(-1).T  # [labellings, layers]: N rows vs everyone
    nm_sum = n_all.T - nn_sum
    gap = nm_sum / (n * m) - nn_sum / (n * (n - 1))
    return gap.T
