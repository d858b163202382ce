"""One self-contained HTML report per run: verdicts, flips, gap curves, drift.

Nothing in the page reaches the network: figures are PNGs drawn with
matplotlib (Agg, imported only here) and inlined as base64 ``data:`` URIs, and
the style sheet is inline. Every string that came from a model or a prompt is
escaped with :func:`html.escape`, so an answer holding ``<script>`` is shown,
never run.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.drift.representation import GapComparison, RepresentationDrift
from harness.drift.verdict import DriftAssessment
from harness.drift.weights import WeightDrift
from harness.paired import FlipExample, PairedComparison

Figure = float | int | str | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteResult(_Strict):
    """One suite's verdict on one subject, with its figures."""

    suite: str
    passed: bool | None
    #: Named figures, e.g. ``{"harm_rate": 0.12, "n": 230, "threshold": 0.1}``.
    figures: dict[str, Figure] = Field(default_factory=dict)
    #: 95% interval of the suite's main rate.
    interval: tuple[float, float] | None = None
    message: str = ""


class Example(_Strict):
    """A quoted answer (a worst example)."""

    id: str
    prompt: str
    response: str
    verdict: str
    category: str = ""


class SubjectReport(_Strict):
    """Everything the report shows about one checkpoint under test."""

    name: str
    ref: str = ""
    suites: list[SuiteResult] = Field(default_factory=list)
    #: Paired comparison against the baseline, per suite name.
    flips: dict[str, PairedComparison] = Field(default_factory=dict)
    gap: GapComparison | None = None
    weight_drift: WeightDrift | None = None
    representation_drift: RepresentationDrift | None = None
    drift: DriftAssessment | None = None
    #: The baseline's safety band (inclusive, 0-based), highlighted in figures.
    band: tuple[int, int] | None = None
    worst_examples: list[Example] = Field(default_factory=list)


class RunReport(_Strict):
    """A whole run: every subject, against one optional baseline."""

    title: str = "Safety gate report"
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    baseline: str | None = None
    subjects: list[SubjectReport]


def write_html_report(path: str | Path, run: RunReport) -> Path:
    """Render ``run`` and write it atomically to ``path``; return the path."""
    from harness.io import write_text_atomic

    return write_text_atomic(Path(path), render_html(run))


def render_html(run: RunReport) -> str:
    """The report as one HTML document."""
    e = html.escape
    body = [f"<h1>{e(run.title)}</h1>", _run_header(run)]
    body += [_subject_section(i, s) for i, s in enumerate(run.subjects)]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(run.title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}"
    ".pass{color:#14692c;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
    ".none{color:#777}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em}"
    "img{max-width:100%;border:1px solid #ddd;margin:.3em 0}"
    "section.subject{border-top:3px solid #444;margin-top:2em}"
)


def _run_header(run: RunReport) -> str:
    e = html.escape
    baseline = e(run.baseline) if run.baseline else "none"
    return (
        f"<p>Created {e(run.created_at)} · baseline: <code>{baseline}</code> · "
        f"{len(run.subjects)} subject(s)</p>"
    )


def _subject_section(index: int, subject: SubjectReport) -> str:
    e = html.escape
    parts = [
        f"<section class='subject' id='subject-{index}'>",
        f"<h2>{e(subject.name)}</h2>",
        f"<p><code>{e(subject.ref)}</code></p>" if subject.ref else "",
        "<h3 id='suites'>Suites</h3>",
        _suites_table(subject.suites),
    ]
    if subject.flips:
        parts += ["<h3>Flips against the baseline</h3>", _flips(subject.flips)]
    if subject.gap is not None:
        parts += [
            "<h3>Angle-gap curves</h3>",
            _img(_gap_png(subject.gap, subject.band), "angle gap curves"),
        ]
    if subject.weight_drift or subject.representation_drift or subject.drift:
        parts += ["<h3>Drift</h3>", _drift(subject)]
    if subject.worst_examples:
        parts += ["<h3>Worst examples</h3>", _examples(subject.worst_examples)]
    parts.append("</section>")
    return "".join(parts)


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return "<span class='none'>no verdict</span>"
    return (
        "<span class='pass'>PASS</span>" if passed else "<span class='fail'>FAIL</span>"
    )


def _suites_table(suites: Sequence[SuiteResult]) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>suite</th><th>verdict</th><th>figures</th>"
        "<th>95% interval</th></tr>"
    ]
    for s in suites:
        figures = ", ".join(f"{e(k)} = {e(_fmt(v))}" for k, v in s.figures.items())
        interval = f"{s.interval[0]:.1%} – {s.interval[1]:.1%}" if s.interval else ""
        rows.append(
            f"<tr><td>{e(s.suite)}</td><td>{_verdict(s.passed)}</td>"
            f"<td>{figures}</td><td>{interval}</td></tr>"
        )
        if s.message:
            rows.append(f"<tr><td colspan='4'><pre>{e(s.message)}</pre></td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _fmt(value: Figure) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flips(flips: dict[str, PairedComparison]) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>suite</th><th>counted</th><th>baseline</th>"
        "<th>subject</th><th>newly / no longer</th><th>McNemar p</th></tr>"
    ]
    examples: list[str] = []
    for suite, c in flips.items():
        rows.append(
            f"<tr><td>{e(suite)}</td><td>{e(c.counted.value)}</td>"
            f"<td>{c.baseline_rate:.1%}</td><td>{c.subject_rate:.1%} "
            f"({c.delta:+.1%})</td><td>{c.gained} / {c.lost}</td>"
            f"<td>{c.p_value:.3g}</td></tr>"
        )
        examples += [_flip_row(suite, f) for f in c.gained_examples + c.lost_examples]
    rows.append("</table>")
    if examples:
        rows.append(
            "<table><tr><th>suite</th><th>prompt</th><th>baseline</th>"
            "<th>subject</th></tr>" + "".join(examples) + "</table>"
        )
    return "".join(rows)


def _flip_row(suite: str, flip: FlipExample) -> str:
    e = html.escape
    return (
        f"<tr><td>{e(suite)}</td><td>[{e(flip.id)}] {e(flip.prompt)}</td>"
        f"<td><b>{e(flip.baseline_verdict.value)}</b>: {e(flip.baseline_response)}"
        f"</td><td><b>{e(flip.subject_verdict.value)}</b>: "
        f"{e(flip.subject_response)}</td></tr>"
    )


def _drift(subject: SubjectReport) -> str:
    parts = []
    if subject.weight_drift is not None:
        w = subject.weight_drift
        weights = {"attention": w.attention, "MLP": w.mlp}
        png = _heatmap_png(weights, "weight drift ||ΔW||/||W||", subject.band)
        parts.append(_img(png, "weight drift heat-map"))
    if subject.representation_drift is not None:
        r = subject.representation_drift
        states = {"malicious": r.malicious_drift, "normal": r.normal_drift}
        png = _heatmap_png(states, "representation drift 1 - cos", subject.band)
        parts.append(_img(png, "representation drift heat-map"))
    if subject.drift is not None:
        items = "".join(
            f"<li>{_verdict(not f.fails)} {html.escape(f.message)}</li>"
            for f in subject.drift.findings
        )
        parts.append(
            f"<p>drift verdict: {_verdict(subject.drift.passed)}</p><ul>{items}</ul>"
        )
    return "".join(parts)


def _examples(examples: Sequence[Example]) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>id</th><th>verdict</th><th>prompt</th><th>response</th></tr>"
    ]
    rows += [
        f"<tr><td>{e(x.id)}</td><td>{e(x.verdict)}</td><td>{e(x.prompt)}</td>"
        f"<td>{e(x.response)}</td></tr>"
        for x in examples
    ]
    rows.append("</table>")
    return "".join(rows)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


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


def _gap_png(gap: GapComparison, band: tuple[int, int] | None) -> bytes:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 3.6))
    layers = list(range(len(gap.subject.gap_deg)))
    floor = gap.baseline.noise_floor_deg
    axis.fill_between(
        layers,
        [-f for f in floor],
        floor,
        color="grey",
        alpha=0.2,
        label="baseline noise band (95th pct of permuted gaps)",
    )
    axis.plot(layers, gap.baseline.gap_deg, color="black", label="baseline")
    axis.plot(layers, gap.subject.gap_deg, color="tab:red", label="subject")
    if band is not None:
        axis.axvspan(
            band[0] - 0.5,
            band[1] + 0.5,
            color="tab:green",
            alpha=0.15,
            label=f"safety band {list(band)}",
        )
    axis.set(xlabel="layer", ylabel="N-M angle gap (deg)")
    axis.legend(loc="upper left", fontsize=8)
    return _png(figure)


def _heatmap_png(
    rows: Mapping[str, Sequence[float | None]],
    title: str,
    band: tuple[int, int] | None,
) -> bytes:
    plt = _pyplot()
    values = [[math.nan if v is None else v for v in row] for row in rows.values()]
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.5 * len(rows)))
    image = axis.imshow(values, aspect="auto", cmap="magma_r", interpolation="nearest")
    axis.set_yticks(range(len(rows)), list(rows))
    axis.set(xlabel="layer", title=title)
    if band is not None:
        axis.add_patch(
            plt.Rectangle(
                (band[0] - 0.5, -0.5),
                band[1] - band[0] + 1,
                len(rows),
                fill=False,
                edgecolor="tab:green",
                linewidth=2,
            )
        )
    figure.colorbar(image, ax=axis)
    return _png(figure)
