"""The run's HTML report, assembled from the suites' summary records.

Each record (:mod:`harness.gate.records`) carries its HTML pieces
(``entry["html"]``: the suite's result, its flips, worst examples and
per-prompt answers, or the safety-layer suite's curves and drift); they are
validated back into :mod:`harness.html_report` models, grouped by subject, and
written once at the end of a run (the pytest plugin's terminal summary does it
on the controller).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.html_report import RunReport, SubjectReport, write_html_report

#: Worst examples shown per subject, over all its suites.
MAX_EXAMPLES = 12

#: Entry keys of the safety-layer suite's figures, copied as they are.
_LAYER_KEYS = ("gap", "weight_drift", "representation_drift", "drift", "band")


def write_run_report(
    path: Path, entries: Iterable[dict[str, Any]], baseline: str | None
) -> Path:
    """Write one self-contained HTML page for every subject of the run."""
    return write_html_report(path, run_report(entries, baseline))


def run_report(entries: Iterable[dict[str, Any]], baseline: str | None) -> RunReport:
    """The :class:`~harness.html_report.RunReport` of a run's entries."""
    subjects: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in entries:  # the same suite recorded twice shows once
        subjects.setdefault(entry["subject"], {})[entry["suite"]] = entry
    return RunReport(
        baseline=baseline,
        subjects=[
            subject_report(name, list(s.values())) for name, s in subjects.items()
        ],
    )


def subject_report(name: str, entries: list[dict[str, Any]]) -> SubjectReport:
    """One subject's section: its suites, flips, curves, drift, examples, answers."""
    fields: dict[str, Any] = {
        "name": name,
        "ref": entries[0].get("ref", ""),
        "suites": [],
        "flips": {},
        "worst_examples": [],
        "answers": [],
    }
    for entry in entries:
        html = entry.get("html") or {}
        fields["suites"].append(html["suite"])
        fields["flips"].update(html.get("flips", {}))
        fields["worst_examples"] += html.get("worst_examples", [])
        fields["answers"] += html.get("answers", [])
        for key in _LAYER_KEYS:
            if html.get(key) is not None:
                fields[key] = html[key]
    fields["worst_examples"] = fields["worst_examples"][:MAX_EXAMPLES]
    return SubjectReport.model_validate(fields)
