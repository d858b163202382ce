"""The HTML report's figures: angle-gap curves and drift heat-maps, as PNG bytes.

matplotlib (Agg) is imported inside the functions, so importing this module
stays cheap. Every layer axis has integer ticks: a layer is a decoder block,
0-based, and "layer 7.5" means nothing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from harness.drift.representation import GapComparison
from harness.layers import LayerRange

LAYER_LABEL = "layer (decoder block, 0-based)"


def gap_png(gap: GapComparison, band: LayerRange | None) -> bytes:
    """The N-M angle-gap curves of subject and baseline, with the noise band."""
    return _png(gap_figure(gap, band))


def heatmap_png(
    rows: Mapping[str, Sequence[float | None]],
    title: str,
    band: LayerRange | None,
) -> bytes:
    """One row per named series, one column per layer; the band outlined."""
    return _png(heatmap_figure(rows, title, band))


def gap_figure(gap: GapComparison, band: LayerRange | None) -> Any:
    """The matplotlib figure of :func:`gap_png`."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 3.8))
    layers = list(range(len(gap.subject.gap_deg)))
    floor = gap.baseline.noise_floor_deg
    axis.fill_between(
        layers,
        [-f for f in floor],
        floor,
        color="grey",
        alpha=0.2,
        label="baseline noise band (95th percentile of permuted gaps)",
    )
    axis.plot(layers, gap.baseline.gap_deg, color="black", label="baseline")
    axis.plot(layers, gap.subject.gap_deg, color="tab:red", label="subject")
    if band is not None:
        axis.axvspan(
            band[0] - 0.5,
            band[1] + 0.5,
            color="tab:green",
            alpha=0.15,
            label=f"baseline's safety band, layers {band[0]}-{band[1]}",
        )
    axis.set(
        xlabel=LAYER_LABEL,
        ylabel="angle gap (degrees)",
        title="N-M angle gap: normal against malicious queries, per layer",
    )
    _integer_layers(axis.xaxis)
    axis.legend(loc="upper left", fontsize=8)
    return figure


def heatmap_figure(
    rows: Mapping[str, Sequence[float | None]],
    title: str,
    band: LayerRange | None,
) -> Any:
    """The matplotlib figure of :func:`heatmap_png`."""
    plt = _pyplot()
    values = [[math.nan if v is None else v for v in row] for row in rows.values()]
    figure, axis = plt.subplots(figsize=(9, 1.4 + 0.5 * len(rows)))
    image = axis.imshow(values, aspect="auto", cmap="magma_r", interpolation="nearest")
    axis.set_yticks(range(len(rows)), list(rows))
    axis.set(xlabel=LAYER_LABEL, title=title)
    _integer_layers(axis.xaxis)
    if band is not None:
        axis.add_patch(
            plt.Rectangle(
                (band[0] - 0.5, -0.5),
                band[1] - band[0] + 1,
                len(rows),
                fill=False,
                edgecolor="tab:green",
                linewidth=2,
                label=f"safety band {band[0]}-{band[1]}",
            )
        )
    figure.colorbar(image, ax=axis)
    return figure


def _integer_layers(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    _pyplot().close(figure)
    return buffer.getvalue()
