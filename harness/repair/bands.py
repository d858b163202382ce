"""Which decoder blocks a repair acts on, and the bands the revert rung tries.

The band is chosen by measurement: the band the user gives, else
the baseline's located safety layers (paper §3.4), else the window where the
fine-tune moved the attention and MLP weights most (:mod:`harness.drift`).
The revert rung then widens it one step at a time toward the neighbouring
layer that drifted more, narrowest first: a narrower band keeps more of the
fine-tune.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from harness.drift import weight_drift
from harness.layers import LayerRange, check_range

if TYPE_CHECKING:
    import torch


def layer_drift(
    finetuned: Mapping[str, torch.Tensor], baseline: Mapping[str, torch.Tensor]
) -> list[float]:
    """Relative weight drift per block, attention and MLP together (0 if unknown)."""
    drift = weight_drift(finetuned, baseline)
    return [
        ((a or 0.0) ** 2 + (m or 0.0) ** 2) ** 0.5
        for a, m in zip(drift.attention, drift.mlp, strict=True)
    ]


def drift_band(drift: Sequence[float], width: int) -> LayerRange:
    """The window of ``width`` blocks with the largest total drift (lowest first)."""
    width = max(1, min(width, len(drift)))
    totals = [sum(drift[i : i + width]) for i in range(len(drift) - width + 1)]
    first = max(range(len(totals)), key=lambda i: (totals[i], -i))
    return LayerRange(first, first + width - 1)


def choose_band(
    drift: Sequence[float],
    *,
    given: LayerRange | None = None,
    located: LayerRange | None = None,
    width: int | None = None,
) -> tuple[LayerRange, str]:
    """Return the band and where it came from (``given``, ``located``, ``drift``).

    Args:
        drift: Per-block drift (:func:`layer_drift`); its length is the depth.
        given: ``--safety-layers``, which wins.
        located: The baseline's located safety layers, if it has a clear band.
        width: Width of a drift-chosen band (default: an eighth of the depth).
    """
    layers = len(drift)
    for band, source in ((given, "given"), (located, "located")):
        if band is not None:
            check_range(band.first, band.last, layers)
            return LayerRange(*band), source
    return drift_band(drift, width or max(1, layers // 8)), "drift"


def widening_bands(
    start: LayerRange, drift: Sequence[float], limit: int
) -> list[LayerRange]:
    """``start``, then wider bands, narrowest first; at most ``limit`` of them.

    Each step adds about half the current width, one block at a time, on the
    side whose next block drifted more; it stops at the whole model.
    """
    bands = [start]
    first, last = start
    while len(bands) < limit and (first > 0 or last < len(drift) - 1):
        for _ in range(max(1, (last - first + 1) // 2)):
            first, last = _grow(first, last, drift)
        bands.append(LayerRange(first, last))
    return bands


def _grow(first: int, last: int, drift: Sequence[float]) -> LayerRange:
    below = drift[first - 1] if first > 0 else -1.0
    above = drift[last + 1] if last < len(drift) - 1 else -1.0
    if below < 0 and above < 0:
        return LayerRange(first, last)
    return LayerRange(first - 1, last) if below > above else LayerRange(first, last + 1)
