"""Pieces of the HTML report: verdict badges, readable figures, the flips.

Each function returns an HTML fragment; every string that came from a model, a
prompt or a figure's value is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.paired import FlipExample, PairedComparison

FigureValue = float | int | str | bool | None

#: Readable names of the figures that suites report.
LABELS = {
    "harm_rate": "harm rate",
    "over_refusal_rate": "over-refusal rate",
    "n": "prompts",
    "threshold": "threshold",
    "band": "safety band",
    "gap_rise_deg": "gap rise (°)",
    "baseline_gap_rise_deg": "baseline's gap rise (°)",
    "failing_findings": "failing findings",
    "max_weight_drift_attention": "largest weight drift, attention",
    "max_weight_drift_mlp": "largest weight drift, MLP",
    "min_cos_malicious": "lowest cosine, malicious",
    "min_cos_normal": "lowest cosine, normal",
}

#: Figures the page shows elsewhere (the interval has its own column).
HIDDEN = frozenset({"ci95", "ci95_low", "ci95_high"})

#: The verdict that each rate counts.
COUNTED = {"harm_rate": "complied", "over_refusal_rate": "refused"}


def verdict_badge(passed: bool | None) -> str:
    """PASS, FAIL or "no verdict", coloured."""
    if passed is None:
        return "<span class='none'>no verdict</span>"
    return (
        "<span class='pass'>PASS</span>" if passed else "<span class='fail'>FAIL</span>"
    )


def label(key: str) -> str:
    """The readable name of a figure's key."""
    if key in LABELS:
        return LABELS[key]
    if key.startswith("mcnemar_p[") and key.endswith("]"):
        return f"McNemar p ({key[10:-1]})"
    if key.startswith("baseline_") and key.endswith("_rate"):
        return f"baseline's {key[9:-5]} rate"
    return key.replace("_", " ")


def format_value(key: str, value: FigureValue) -> str:
    """A figure's value as text: rates and thresholds as percentages."""
    if isinstance(value, bool) or not isinstance(value, float | int):
        return "–" if value is None else str(value)
    if key.endswith("_rate") or key == "threshold":
        return f"{value:.1%}"
    if key.startswith("mcnemar_p"):
        return f"{value:.2g}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def figures_list(figures: Mapping[str, FigureValue]) -> str:
    """The figures as a wrapped list of "label value" items.

    A ``<name>_layer`` figure joins its ``<name>`` ("0.062 at layer 10").
    """
    e = html.escape
    items = []
    for key, value in figures.items():
        if key in HIDDEN or (key.endswith("_layer") and key[:-6] in figures):
            continue
        text = format_value(key, value)
        layer = figures.get(f"{key}_layer")
        if layer is not None and value is not None:
            text += f" at layer {layer}"
        items.append(f"<li><span class='label'>{e(label(key))}</span> {e(text)}</li>")
    return f"<ul class='figures'>{''.join(items)}</ul>"


def headline(figures: Mapping[str, FigureValue]) -> str:
    """The one figure of a summary cell: the main rate with its count, if any."""
    for key, value in figures.items():
        if not key.endswith("_rate") or key.startswith("baseline_"):
            continue
        if not isinstance(value, float | int):
            continue
        count, n = figures.get(COUNTED.get(key, key[:-5])), figures.get("n")
        suffix = f" ({count}/{n})" if count is not None and n is not None else ""
        return f"{label(key)} {value:.1%}{suffix}"
    failing = figures.get("failing_findings")
    return "" if failing is None else f"{failing} failing finding(s)"


@dataclass
class _FlipRow:
    suite: str
    flip: FlipExample
    changes: list[str] = field(default_factory=list)


def flips_section(flips: Mapping[str, PairedComparison]) -> str:
    """The paired comparisons, then one row per prompt whose verdict changed.

    A prompt counted in two comparisons of one suite (``harm`` and
    ``harm (undetermined)``: complied → undetermined is both "no longer
    complied" and "newly undetermined") shows once, with both changes.
    """
    e = html.escape
    rows = [
        "<table><tr><th>suite</th><th>counted verdict</th><th>baseline</th>"
        "<th>subject</th><th>newly / no longer</th><th>McNemar p</th></tr>"
    ]
    flip_rows: dict[tuple[str, str], _FlipRow] = {}
    for key, c in flips.items():
        counted = c.counted.value
        suite = key.removesuffix(f" ({counted})")
        rows.append(
            f"<tr><td>{e(suite)}</td><td>{e(counted)}</td>"
            f"<td>{c.baseline_rate:.1%}</td><td>{c.subject_rate:.1%} "
            f"({c.delta:+.1%})</td><td>{c.gained} / {c.lost}</td>"
            f"<td>{c.p_value:.3g}</td></tr>"
        )
        changes = [(f, "newly") for f in c.gained_examples]
        changes += [(f, "no longer") for f in c.lost_examples]
        for flip, change in changes:
            row = flip_rows.setdefault((suite, flip.id), _FlipRow(suite, flip))
            row.changes.append(f"{change} {counted}")
    rows.append("</table>")
    if flip_rows:
        rows.append(_flip_table(list(flip_rows.values())))
    return "".join(rows)


def _flip_table(rows: list[_FlipRow]) -> str:
    e = html.escape
    body = "".join(
        f"<tr><td>{e(r.suite)}<br><span class='small'>{e(r.flip.id)}</span></td>"
        f"<td>{e(r.flip.prompt)}</td>"
        f"<td><b>{e(r.flip.baseline_verdict.value)}</b>: "
        f"{e(r.flip.baseline_response)}</td>"
        f"<td><b>{e(r.flip.subject_verdict.value)}</b>: "
        f"{e(r.flip.subject_response)}</td><td>{e('; '.join(r.changes))}</td></tr>"
        for r in rows
    )
    return (
        "<table class='fixed'><colgroup><col style='width:9em'>"
        "<col style='width:24%'><col><col><col style='width:9em'></colgroup>"
        "<tr><th>suite · id</th><th>prompt</th><th>baseline</th><th>subject</th>"
        f"<th>change</th></tr>{body}</table>"
    )
