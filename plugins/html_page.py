"""The run's HTML report, assembled on the controller from the suite entries.

Each entry carries its HTML pieces (``entry["html"]``, see
:mod:`plugins.entries`); they are validated back into
:mod:`harness.html_report` models, grouped by subject, and written once at the
end of the session by :class:`plugins.reporting.SafetyReporter`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.html_report import RunReport, SubjectReport

#: Worst examples shown per subject, over all its suites.
MAX_EXAMPLES = 12


def write_run_report(
    path: Path, entries: Iterable[dict[str, Any]], baseline: str | None
) -> Path:
    """Write one self-contained HTML page for every subject of the run."""
    from harness.html_report import write_html_report

    return write_html_report(path, run_report(entries, baseline))


def run_report(entries: Iterable[dict[str, Any]], baseline: str | None) -> RunReport:
    """The :class:`~harness.html_report.RunReport` of a run's entries."""
    from harness.html_report import RunReport

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
    """One subject's section: its suites, flips, curves, drift and examples."""
    from harness.html_report import SubjectReport

    fields: dict[str, Any] = {
        "name": name,
        "ref": entries[0].get("ref", ""),
        "suites": [],
        "flips": {},
        "worst_examples": [],
    }
    for entry in entries:
        html = entry.get("html") or {}
        fields["suites"].append(html["suite"])
        fields["flips"].update(html.get("flips", {}))
        fields["worst_examples"] += html.get("worst_examples", [])
        for key in ("gap", "weight_drift", "representation_drift", "drift", "band"):
            if html.get(key) is not None:
                fields[key] = html[key]
    fields["worst_examples"] = fields["worst_examples"][:MAX_EXAMPLES]
    return SubjectReport.model_validate(fields)
