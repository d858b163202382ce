"""The repair as an HTML page: each rung's candidates, figures and cost.

:func:`repair_section` is one self-contained ``<section>`` (for a run's
report page), :func:`repair_html` a whole page around it. Every value is
escaped; the page loads nothing.
"""

from __future__ import annotations

import html
import json

from harness.repair.records import Candidate, RepairResult, RungRecord

_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;"
    "text-align:left;vertical-align:top}.pass{background:#e6f4e6}"
    ".kept{font-weight:bold}.skip{color:#777}"
)


def repair_html(result: RepairResult, title: str = "Repair") -> str:
    """A whole HTML page holding :func:`repair_section`."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{repair_section(result)}</body></html>\n"
    )


def repair_section(result: RepairResult) -> str:
    """Where the kept candidate went, then one table row per candidate."""
    parts = ["<section class='repair'>", f"<p>{_outcome(result)}</p>"]
    band = f"{list(result.band)} ({result.band_source})" if result.band else "none"
    parts.append(
        f"<p>band: {html.escape(band)}; before: "
        f"{html.escape(_metrics(result.before.metrics))} "
        f"({html.escape(result.before.summary)})</p>"
    )
    parts.append(
        "<table><tr><th>rung</th><th>parameters</th><th>verdict</th>"
        "<th>figures</th><th>utility loss</th><th>build s</th><th>judge s</th>"
        "<th>note</th></tr>"
    )
    for rung in result.rungs:
        parts.extend(_rows(rung, result.kept))
    parts.append("</table>")
    parts.extend(f"<p>{html.escape(note)}</p>" for note in result.notes)
    parts.append("</section>")
    return "".join(parts)


def _outcome(result: RepairResult) -> str:
    if result.kept is None:
        return "No candidate passed." if not result.before.passed else "Nothing to do."
    where = html.escape(str(result.output or result.kept.path))
    return (
        f"Kept: <b>{html.escape(result.kept.rung)}</b> "
        f"{html.escape(json.dumps(result.kept.params, default=str))}, "
        f"written to <code>{where}</code>."
    )


def _rows(rung: RungRecord, kept: Candidate | None) -> list[str]:
    if rung.skipped:
        return [
            f"<tr class='skip'><td>{html.escape(rung.rung)}</td>"
            f"<td colspan='7'>skipped: {html.escape(rung.skipped)}</td></tr>"
        ]
    rows = []
    for c in rung.candidates:
        cls = "pass kept" if c is kept else ("pass" if c.passed else "")
        verdict = "PASS" if c.passed else ("fail" if c.verdict else "not judged")
        figures = _metrics(c.verdict.metrics) if c.verdict else ""
        loss = f"{c.utility.loss:+.3f}" if c.utility else ""
        cells = [
            rung.rung,
            json.dumps(c.params, default=str),
            verdict,
            figures,
            loss,
            f"{c.build_s:.1f}",
            f"{c.judge_s:.1f}",
            c.note + (" (from the journal)" if c.resumed else ""),
        ]
        tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        rows.append(f"<tr class='{cls}'>{tds}</tr>")
    total = f"{rung.rung}: {rung.seconds:.1f} s in all"
    rows.append(f"<tr><td colspan='8'><i>{html.escape(total)}</i></td></tr>")
    return rows


def _metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in metrics.items()) or "-"
