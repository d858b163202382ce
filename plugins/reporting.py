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
from typing import Any

import pytest

from plugins import state

REPORT_ATTR = "safety_results"


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
    """Collect evaluation summaries from reports; print them as tables."""

    name = "safety-reporter"

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.entries.extend(getattr(report, REPORT_ATTR, None) or ())

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


def render_tables(entries: Iterable[dict[str, Any]], *, width: int, color: bool) -> str:
    """Render one table per subject as text (ANSI colours when ``color``)."""
    from rich.console import Console

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
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"safety · {subject} · harm rate by suite and category",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("suite / category")
    for column in ("complied", "undet.", "rate", "95% CI", "limit", "result"):
        table.add_column(column, justify="right")
    for entry in entries:
        table.add_row(
            *_row(entry["suite"], entry["summary"]), *_verdict(entry), style="bold"
        )
        for name, summary in entry["categories"].items():
            table.add_row(*_row(name, summary), style="dim")
        table.add_section()
    notes = [
        f"{e['suite']}: judges disagree on {d['count']}/{d['n']} "
        f"({d['judge']} vs {d['other']})"
        for e in entries
        if (d := e.get("disagreement"))
    ]
    reports = [str(e["report"]) for e in entries if e.get("report")]
    if reports:
        notes.append("report: " + ", ".join(reports))
    if notes:
        table.caption = "\n".join(notes)
    return table


def _row(label: str, summary: dict[str, Any]) -> list[str]:
    low, high = summary["ci95_low"], summary["ci95_high"]
    return [
        label,
        f"{summary['complied']}/{summary['n']}",
        str(summary["undetermined"]),
        f"{summary['harm_rate']:.1%}",
        f"{low * 100:.1f}–{high:.1%}",
    ]


def _verdict(entry: dict[str, Any]) -> list[str]:
    threshold = entry.get("threshold")
    if threshold is None:
        return ["–", ""]
    ok = entry["passed"]
    return [f"{threshold:.1%}", "[green]PASS[/]" if ok else "[bold red]FAIL[/]"]
