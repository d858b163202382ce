"""Terminal summary: one rich table per subject, built from the test reports.

A test's evaluation summaries ride on its ``call`` report (attribute
``safety_results``, plain JSON data, so they survive pytest-xdist's transport
from workers). The :class:`SafetyReporter`, registered only when there are
subjects and only in the controlling process, gathers them and prints the
tables at the end of the run.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest
from rich import box
from rich.console import Console
from rich.table import Table

from harness.gate.page import write_run_report
from plugins import state

REPORT_ATTR = "safety_results"
HTML_NAME = "report.html"


def pytest_configure(config: pytest.Config) -> None:
    """Register the summary, in the controlling process, when there are subjects."""
    subjects = config.stash.get(state.SUBJECTS_KEY, ())
    if subjects and not hasattr(config, "workerinput"):  # xdist workers: no summary
        config.pluginmanager.register(SafetyReporter(), SafetyReporter.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    entries = item.stash.get(state.ITEM_RESULTS_KEY, None)
    if entries and call.when == "call":
        setattr(report, REPORT_ATTR, list(entries))
    return report


class SafetyReporter:
    """Collect suite entries from reports; write the HTML report, print tables."""

    name = "safety-reporter"

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.html_path: Path | None = None
        self.html_error: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.entries.extend(getattr(report, REPORT_ATTR, None) or ())

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write ``<report-dir>/report.html`` (before the terminal summary)."""
        if not self.entries:
            return
        settings = state.settings_of(session.config)
        try:
            self.html_path = write_run_report(
                settings.report_dir / HTML_NAME, self.entries, settings.baseline
            )
        except (OSError, ValueError) as e:  # a report must never crash the run
            self.html_error = f"cannot write the HTML report: {e}"

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        if not self.entries:
            return
        writer = config.get_terminal_writer()
        terminalreporter.write_sep("=", "safety summary")
        text = render_tables(
            self.entries, width=writer.fullwidth, color=writer.hasmarkup
        )
        terminalreporter.write(text)
        if self.html_path is not None:
            terminalreporter.write_line(f"safety: HTML report: {self.html_path}")
        if self.html_error is not None:
            terminalreporter.write_line(f"safety: {self.html_error}", red=True)


def render_tables(entries: Iterable[dict[str, Any]], *, width: int, color: bool) -> str:
    """Render one table per subject as text (ANSI colours when ``color``)."""
    console = Console(
        file=io.StringIO(),
        width=max(width, 60),
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    for subject, rows in _by_subject(entries).items():
        console.print(subject_table(subject, rows))
    output = console.file
    assert isinstance(output, io.StringIO)
    return "".join(line.rstrip() + "\n" for line in output.getvalue().splitlines())


def _by_subject(entries: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in entries:  # the same suite recorded twice shows once
        grouped.setdefault(entry["subject"], {})[entry["suite"]] = entry
    return {subject: list(suites.values()) for subject, suites in grouped.items()}


def subject_table(subject: str, entries: list[dict[str, Any]]) -> Any:
    """A rich table: one row per suite, then a dim one per category."""
    table = Table(
        title=f"safety · {subject} · by suite and category",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("suite / category")
    table.columns[0].no_wrap = True
    for column in ("count", "undet.", "rate", "95% CI", "limit", "result"):
        table.add_column(column, justify="right")
    for entry in entries:
        table.add_row(*_suite_row(entry), style="bold")
        for name, cell in entry.get("categories", {}).items():
            table.add_row(*_row(name, cell), style="dim")
        table.add_section()
    notes = [
        f"{e['suite']}: judges disagree on {d['count']}/{d['n']} "
        f"({d['judge']} vs {d['other']})"
        for e in entries
        if (d := e.get("disagreement"))
    ]
    notes += [
        f"{e['suite']}: {_drift_note(e)}" for e in entries if e["kind"] == "layers"
    ]
    notes += [f"{e['suite']}: {v}" for e in entries if (v := _versus(e))]
    reports = [str(e["report"]) for e in entries if e.get("report")]
    if reports:
        notes.append("report: " + ", ".join(reports))
    if notes:
        table.caption = "\n".join(notes)
    return table


def _suite_row(entry: dict[str, Any]) -> list[str]:
    if entry["kind"] == "layers":
        return [f"{entry['suite']} (drift)", "", "", "", "", "", _result(entry)]
    cells = _row(f"{entry['suite']} ({entry['counted']})", entry["summary"])
    threshold = entry.get("threshold")
    limit = "–" if threshold is None else f"{threshold:.1%}"
    return [*cells, limit, _result(entry)]


def _row(label: str, cell: dict[str, Any]) -> list[str]:
    low, high = cell["ci95_low"], cell["ci95_high"]
    return [
        label,
        f"{cell['count']}/{cell['n']}",
        str(cell["undetermined"]),
        f"{cell['rate']:.1%}",
        f"{low * 100:.1f}–{high:.1%}",
    ]


def _versus(entry: dict[str, Any]) -> str:
    changes = [
        f"{verdict} {c['delta']:+.1%} (McNemar p={c['p_value']:.2g})"
        for verdict, c in entry.get("paired", {}).items()
    ]
    return "against the baseline: " + ", ".join(changes) if changes else ""


def _result(entry: dict[str, Any]) -> str:
    if entry.get("passed") is None:
        return ""
    return "[green]PASS[/]" if entry["passed"] else "[bold red]FAIL[/]"


def _drift_note(entry: dict[str, Any]) -> str:
    f = entry["figures"]
    if "max_weight_drift_mlp" not in f:
        return f"band {f['band']}; drift not measured"
    return (
        f"band {f['band']}; weight drift max attention "
        f"{_num(f.get('max_weight_drift_attention'))}, MLP "
        f"{_num(f.get('max_weight_drift_mlp'))}; min cosine malicious "
        f"{_num(f.get('min_cos_malicious'))}, normal {_num(f.get('min_cos_normal'))}; "
        f"gap rise {_num(f.get('gap_rise_deg'))} vs "
        f"{_num(f.get('baseline_gap_rise_deg'))} deg"
    )


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"
