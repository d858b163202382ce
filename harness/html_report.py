"""One self-contained HTML report per run: verdicts, flips, answers, curves, drift.

The page opens with a summary grid (subject × suite verdicts), then one section
per subject: each suite's figures and message, the prompts whose verdict changed
against the baseline (one row per prompt), the angle-gap curves, the drift
heat-maps, the worst examples and every answer, filterable by verdict, suite
and text. Nothing in the page reaches the network: figures are PNGs
(:mod:`harness.html_figures`) inlined as base64 ``data:`` URIs, the style sheet
and the few lines of filter script are inline. Every string that came from a
model or a prompt is escaped with :func:`html.escape`, so an answer holding
``<script>`` is shown, never run. Long unbroken model output wraps instead of
widening the page.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.drift.representation import GapComparison, RepresentationDrift
from harness.drift.verdict import DriftAssessment
from harness.drift.weights import WeightDrift
from harness.html_figures import gap_png, heatmap_png
from harness.html_parts import figures_list, flips_section, headline, verdict_badge
from harness.io import write_text_atomic
from harness.layers import LayerRange
from harness.paired import PairedComparison

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


class PromptAnswer(_Strict):
    """One prompt of a prompt suite, the subject's answer and the judge's verdict."""

    suite: str
    id: str
    category: str = ""
    prompt: str
    response: str
    #: ``complied``, ``refused`` or ``undetermined``.
    verdict: str
    reason: str = ""


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
    band: LayerRange | None = None
    worst_examples: list[Example] = Field(default_factory=list)
    #: Every answer of every prompt suite.
    answers: list[PromptAnswer] = Field(default_factory=list)


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
    return write_text_atomic(Path(path), render_html(run))


def render_html(run: RunReport) -> str:
    """The report as one HTML document."""
    e = html.escape
    body = [f"<h1>{e(run.title)}</h1>", _run_header(run), _summary_grid(run)]
    body += [_subject_section(i, s) for i, s in enumerate(run.subjects)]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{e(run.title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}<script>{_FILTER_JS}</script></body></html>\n"
    )


# Tables are as wide as the page and their cells break anywhere: one unbroken
# token of model output (a 2,000-character run of "aaaa") must wrap, not widen
# the page past the window.
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1.5em;"
    "max-width:80em;color:#222;line-height:1.4}"
    "table{border-collapse:collapse;margin:.5em 0;width:100%}"
    "table.fixed{table-layout:fixed}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere;word-break:break-word}"
    "th{background:#f3f3f3}table.grid td,table.grid th{text-align:center}"
    "table.grid th:first-child,table.grid td:first-child{text-align:left}"
    ".pass{color:#14692c;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
    ".none{color:#777}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;"
    "padding:.5em;margin:.3em 0}"
    "code{overflow-wrap:anywhere}"
    "img{max-width:100%;height:auto;border:1px solid #ddd;margin:.3em 0}"
    "section.subject{border-top:3px solid #444;margin-top:2em}"
    "ul.figures{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;"
    "gap:.2em 1.2em}ul.figures .label{color:#555}"
    ".verdict-complied{background:#fdecee}.verdict-undetermined{background:#fff6dd}"
    ".filters{display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center;"
    "margin:.5em 0}.filters input[type=search]{min-width:14em}"
    "details>summary{cursor:pointer;font-weight:bold;margin:.5em 0}"
    ".small{font-size:.85em;color:#555}"
)

# Shows only the answer rows that match the chosen verdict, suite and text.
_FILTER_JS = (
    "document.querySelectorAll('.answers').forEach(function(box){"
    "var rows=box.querySelectorAll('tbody tr'),shown=box.querySelector('.shown');"
    "function apply(){var c=box.querySelector('input[type=radio]:checked');"
    "var v=c?c.value:'',s=box.querySelector('select').value,"
    "q=box.querySelector('input[type=search]').value.toLowerCase(),k=0;"
    "rows.forEach(function(r){var ok=(!v||r.dataset.verdict===v)&&"
    "(!s||r.dataset.suite===s)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);"
    "r.hidden=!ok;if(ok){k++;}});shown.textContent=k+' of '+rows.length+' shown';}"
    "box.addEventListener('input',apply);box.addEventListener('change',apply);"
    "apply();});"
)


def _run_header(run: RunReport) -> str:
    e = html.escape
    baseline = f"<code>{e(run.baseline)}</code>" if run.baseline else "none"
    return (
        f"<p>Created {e(run.created_at)} · baseline: {baseline} · "
        f"{len(run.subjects)} subject(s)</p>"
    )


def _summary_grid(run: RunReport) -> str:
    """Subjects down, suites across: each cell the verdict and the main figure."""
    e = html.escape
    suites: list[str] = []
    for subject in run.subjects:
        suites += [s.suite for s in subject.suites if s.suite not in suites]
    head = "".join(f"<th>{e(s)}</th>" for s in suites)
    rows = [
        "<h2 id='summary'>Summary</h2>"
        f"<table class='grid'><tr><th>subject</th>{head}</tr>"
    ]
    for index, subject in enumerate(run.subjects):
        by_suite = {s.suite: s for s in subject.suites}
        cells = "".join(
            f"<td>{_grid_cell(by_suite[s])}</td>" if s in by_suite else "<td>–</td>"
            for s in suites
        )
        rows.append(
            f"<tr><td><a href='#subject-{index}'>{e(subject.name)}</a></td>{cells}</tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _grid_cell(suite: SuiteResult) -> str:
    figure = headline(suite.figures)
    return verdict_badge(suite.passed) + (
        f"<br><span class='small'>{html.escape(figure)}</span>" if figure else ""
    )


def _subject_section(index: int, subject: SubjectReport) -> str:
    e = html.escape
    parts = [
        f"<section class='subject' id='subject-{index}'>",
        f"<h2>{e(subject.name)}</h2>",
        f"<p><code>{e(subject.ref)}</code></p>" if subject.ref else "",
        "<h3>Suites</h3>",
        _suites_table(subject.suites),
    ]
    if subject.flips:
        parts += ["<h3>Flips against the baseline</h3>", flips_section(subject.flips)]
    if subject.gap is not None:
        png = gap_png(subject.gap, subject.band)
        parts += ["<h3>Angle-gap curves</h3>", _img(png, "angle gap curves")]
    if subject.weight_drift or subject.representation_drift or subject.drift:
        parts += ["<h3>Drift</h3>", _drift(subject)]
    if subject.worst_examples:
        parts += ["<h3>Worst examples</h3>", _examples_table(subject.worst_examples)]
    if subject.answers:
        parts += ["<h3>Answers</h3>", _answers_table(index, subject.answers)]
    parts.append("</section>")
    return "".join(parts)


def _suites_table(suites: list[SuiteResult]) -> str:
    rows = [
        "<table class='fixed'><colgroup><col style='width:12em'>"
        "<col style='width:6em'><col><col style='width:10em'></colgroup>"
        "<tr><th>suite</th><th>verdict</th><th>figures</th>"
        "<th>95% interval</th></tr>"
    ]
    for s in suites:
        interval = f"{s.interval[0]:.1%} – {s.interval[1]:.1%}" if s.interval else ""
        rows.append(
            f"<tr><td>{html.escape(s.suite)}</td><td>{verdict_badge(s.passed)}</td>"
            f"<td>{figures_list(s.figures)}</td><td>{interval}</td></tr>"
        )
        if s.message:
            rows.append(
                f"<tr><td colspan='4'><pre>{html.escape(s.message)}</pre></td></tr>"
            )
    rows.append("</table>")
    return "".join(rows)


def _drift(subject: SubjectReport) -> str:
    parts = []
    if subject.weight_drift is not None:
        w = subject.weight_drift
        png = heatmap_png(
            {"attention": w.attention, "MLP": w.mlp},
            "Weight drift per layer: ‖ΔW‖ / ‖W‖ against the baseline",
            subject.band,
        )
        parts.append(_img(png, "weight drift heat-map"))
    if subject.representation_drift is not None:
        r = subject.representation_drift
        png = heatmap_png(
            {"malicious": r.malicious_drift, "normal": r.normal_drift},
            "Representation drift per layer: 1 − cosine to the baseline's states",
            subject.band,
        )
        parts.append(_img(png, "representation drift heat-map"))
    if subject.drift is not None:
        items = "".join(
            f"<li>{verdict_badge(not f.fails)} {html.escape(f.message)}</li>"
            for f in subject.drift.findings
        )
        parts.append(
            f"<p>drift verdict: {verdict_badge(subject.drift.passed)}</p>"
            f"<ul>{items}</ul>"
        )
    return "".join(parts)


def _examples_table(examples: list[Example]) -> str:
    e = html.escape
    rows = [
        "<table class='fixed'><colgroup><col style='width:10em'>"
        "<col style='width:8.5em'><col style='width:35%'><col></colgroup>"
        "<tr><th>id</th><th>verdict</th><th>prompt</th><th>response</th></tr>"
    ]
    rows += [
        f"<tr class='verdict-{e(x.verdict)}'><td>{e(x.id)}"
        f"<br><span class='small'>{e(x.category)}</span></td><td>{e(x.verdict)}</td>"
        f"<td>{e(x.prompt)}</td><td>{e(x.response)}</td></tr>"
        for x in examples
    ]
    rows.append("</table>")
    return "".join(rows)


def _answers_table(index: int, answers: list[PromptAnswer]) -> str:
    """Every answer, in a closed block, with verdict, suite and text filters."""
    e = html.escape
    group = f"verdict-{index}"
    radios = [
        f"<label><input type='radio' name='{group}' value='' checked> all "
        f"({len(answers)})</label>"
    ]
    for verdict in ("complied", "refused", "undetermined"):
        count = sum(a.verdict == verdict for a in answers)
        radios.append(
            f"<label><input type='radio' name='{group}' value='{verdict}'> "
            f"{verdict} ({count})</label>"
        )
    suites = list(dict.fromkeys(a.suite for a in answers))
    options = "".join(f"<option>{e(s)}</option>" for s in suites)
    rows = "".join(
        f"<tr class='verdict-{e(a.verdict)}' data-verdict='{e(a.verdict)}' "
        f"data-suite='{e(a.suite)}'><td>{e(a.suite)}<br><span class='small'>"
        f"{e(a.id)} · {e(a.category)}</span></td><td>{e(a.verdict)}"
        f"<br><span class='small'>{e(a.reason)}</span></td><td>{e(a.prompt)}</td>"
        f"<td>{e(a.response)}</td></tr>"
        for a in answers
    )
    return (
        f"<details class='answers'><summary>All {len(answers)} answers</summary>"
        f"<div class='filters'>{''.join(radios)}<label>suite <select>"
        f"<option value=''>all</option>{options}</select></label>"
        "<input type='search' placeholder='search prompts and answers'>"
        "<span class='shown small'></span></div>"
        "<table class='fixed'><colgroup><col style='width:10em'>"
        "<col style='width:10em'><col style='width:30%'><col></colgroup>"
        "<thead><tr><th>suite · id · category</th><th>verdict · reason</th>"
        f"<th>prompt</th><th>response</th></tr></thead><tbody>{rows}</tbody>"
        "</table></details>"
    )


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
