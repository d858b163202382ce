"""The PNG beside a profile: cosine curves, the gap with its noise floor, R_o sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.layers import LayerRange
from harness.localization.profile import PairCurves, SafetyLayerProfile, SweepRecord

_COLOURS = {"N-N": "tab:blue", "M-M": "tab:red", "N-M": "tab:purple"}


def render_profile(profile: SafetyLayerProfile, path: str | Path) -> Path:
    """Draw the profile's figure into ``path`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if profile.search is not None else 2
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    _cosines(axes[0], profile)
    _gap(axes[1], profile)
    if profile.search is not None:
        _sweeps(axes[2], profile)
    located = list(profile.safety_layers) if profile.safety_layers else "none"
    notes = [profile.status.replace("_", " ")]
    if profile.search is not None and profile.search.margin_within_noise:
        notes.append("margin within noise")
    if not profile.existence.band.found and profile.search is not None:
        notes.append("gap below its noise floor")
    figure.suptitle(
        f"{profile.model.ref}: safety layers {located} ({'; '.join(notes)})",
        fontsize=11,
    )
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _cosines(axis: Any, profile: SafetyLayerProfile) -> None:
    existence = profile.existence
    curves: dict[str, PairCurves] = {
        "N-N": existence.nn,
        "M-M": existence.mm,
        "N-M": existence.nm,
    }
    for label, curve in curves.items():
        layers = list(range(len(curve.cos_mean)))
        low = [m - s for m, s in zip(curve.cos_mean, curve.cos_std, strict=True)]
        high = [m + s for m, s in zip(curve.cos_mean, curve.cos_std, strict=True)]
        axis.plot(layers, curve.cos_mean, label=label, color=_COLOURS[label])
        axis.fill_between(layers, low, high, color=_COLOURS[label], alpha=0.15)
    axis.set(xlabel="layer", ylabel="cosine similarity", title="last-token cosine")
    axis.legend(loc="lower left", fontsize=8)


def _gap(axis: Any, profile: SafetyLayerProfile) -> None:
    existence = profile.existence
    layers = list(range(len(existence.gap_deg)))
    axis.plot(layers, existence.gap_deg, color="black", label="gap (N-M minus N-N)")
    floor = existence.noise_floor_deg
    axis.fill_between(
        layers,
        [-f for f in floor],
        floor,
        color="grey",
        alpha=0.2,
        label="\u00b195th pct of label-permuted gaps",
    )
    _shade(axis, profile.initial_range, "tab:orange", "initial range")
    _shade(axis, profile.safety_layers, "tab:green", "located range")
    axis.set(xlabel="layer", ylabel="angle gap (deg)", title="angle gap")
    axis.legend(loc="upper left", fontsize=8)


def _shade(axis: Any, bounds: LayerRange | None, colour: str, label: str) -> None:
    if bounds is not None:
        first, last = bounds
        axis.axvspan(first - 0.5, last + 0.5, color=colour, alpha=0.2, label=label)


def _sweeps(axis: Any, profile: SafetyLayerProfile) -> None:
    search = profile.search
    assert search is not None
    for sweep, bound, marker in ((search.upper, 1, "o"), (search.lower, 0, "s")):
        _sweep_line(axis, sweep, bound, marker)
    axis.axhline(search.baseline, color="grey", linestyle=":", label="baseline R_o")
    axis.set(
        xlabel="varied bound (layer)",
        ylabel=f"R_o (of {search.queries})",
        title=f"over-rejection sweeps, alpha={search.alpha:g}",
    )
    axis.legend(loc="best", fontsize=8)


def _sweep_line(axis: Any, sweep: SweepRecord, bound: int, marker: str) -> None:
    xs = [step.range[bound] for step in sweep.steps]
    ys = [step.count for step in sweep.steps]
    order = sorted(range(len(xs)), key=lambda n: xs[n])
    label = f"{sweep.kind} bound -> {list(sweep.winner)}"
    xs, ys = [xs[n] for n in order], [ys[n] for n in order]
    axis.plot(xs, ys, marker=marker, label=label)
