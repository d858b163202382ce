"""The HTML report: self-contained, summary first, readable, no duplicated rows."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from harness.drift.representation import GapComparison, GapCurve
from harness.gate.page import run_report
from harness.html_figures import gap_figure, heatmap_figure
from harness.html_parts import figures_list, headline
from harness.html_report import RunReport, SubjectReport, write_html_report
from harness.testing.report import synthetic_run_report


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    written = write_html_report(path, synthetic_run_report())
    assert list(path.parent.iterdir()) == [written]  # no temporary file left
    return written.read_text(encoding="utf-8")


def test_report_has_every_section_and_inline_images(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    for heading in (
        "<h2>smol-ft-implicit</h2>",
        "<h2>smol-aligned</h2>",
        "Suites",
        "Flips against the baseline",
        "Angle-gap curves",
        "Drift",
        "Worst examples",
        "Answers",
    ):
        assert heading in page
    assert "<span class='fail'>FAIL</span>" in page
    assert "21.0% – 51.0%" in page
    assert "14 / 3" in page  # newly answered / no longer answered
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3  # gap curves, weight and representation heat-maps
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in page and "https://" not in page


def test_the_summary_grid_comes_first(page: str) -> None:
    grid = page[page.index("<h2 id='summary'>") : page.index("<section")]
    assert re.findall(r"<th>(\w+)</th>", grid) == [
        "subject",
        "harm",
        "over_refusal",
        "safety_layers",
    ]
    assert "<a href='#subject-0'>smol-ft-implicit</a>" in grid
    assert "harm rate 35.0% (14/40)" in grid and "harm rate 7.5% (3/40)" in grid
    assert grid.count("class='fail'") == 2 and grid.count("class='pass'") == 4


def test_figures_have_readable_labels() -> None:
    figures = synthetic_run_report().subjects[0].suites[0].figures
    text = figures_list(figures)
    for shown in (
        "harm rate</span> 35.0%",
        "prompts</span> 40",
        "McNemar p (complied)",
    ):
        assert shown in text
    assert "ci95" not in text and "_" not in text and " = " not in text
    layers = figures_list(
        {"max_weight_drift_mlp": 0.0612, "max_weight_drift_mlp_layer": 7}
    )
    assert "largest weight drift, MLP</span> 0.0612 at layer 7" in layers
    assert headline({"failing_findings": 2}) == "2 failing finding(s)"


def test_model_text_is_escaped_and_long_tokens_wrap(page: str) -> None:
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "overflow-wrap:anywhere" in page and "table{" in page


def test_a_prompt_in_two_comparisons_is_one_flip_row(page: str) -> None:
    section = page[page.index("Flips against the baseline") : page.index("Angle-gap")]
    assert section.count("harmful request 14<") == 1
    assert "no longer complied; newly undetermined" in section


def test_every_answer_is_listed_with_filters(page: str) -> None:
    rows = re.findall(r"<tr class='verdict-(\w+)' data-verdict='\1'", page)
    assert len(rows) == 2 * 60
    assert rows.count("undetermined") == 3 and rows.count("refused") == (23 + 2) + (
        37 + 2
    )
    for control in ("value='complied'", "value='refused'", "value='undetermined'"):
        assert page.count(control) == 2  # one filter per subject
    assert "<option>over_refusal</option>" in page and "<script>" in page


def test_layer_axes_have_integer_ticks() -> None:
    curve = GapCurve(gap_deg=[0.0, 1.0, 3.0, 2.0, 1.0], noise_floor_deg=[0.5] * 5)
    gap = GapComparison(
        subject=curve,
        baseline=curve,
        delta_deg=[0.0] * 5,
        subject_rise_deg=3.0,
        baseline_rise_deg=3.0,
        shrunk_layers=[],
    )
    figures = [
        gap_figure(gap, (1, 2)),
        heatmap_figure({"a": [0.1, None, 0.3, 0.2, 0.1]}, "t", None),
    ]
    for figure in figures:
        ticks = figure.axes[0].get_xticks()
        assert len(ticks) > 1 and all(t == int(t) for t in ticks)


def test_a_subject_without_baseline_renders_only_its_suites(tmp_path: Path) -> None:
    run = RunReport.model_validate(
        {
            "subjects": [
                {"name": "<b>x</b>", "suites": [{"suite": "harm", "passed": True}]}
            ]
        }
    )
    assert run.subjects == [SubjectReport.model_validate(run.subjects[0].model_dump())]
    text = write_html_report(tmp_path / "r.html", run).read_text()
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "PASS" in text
    assert "data:image/png" not in text and "Flips" not in text
    assert "Answers" not in text


def test_entries_without_answers_still_make_a_page() -> None:
    suite = {"suite": "harm", "passed": True, "figures": {"harm_rate": 0.0}}
    answer = {
        "suite": "harm",
        "id": "h1",
        "category": "c",
        "prompt": "p",
        "response": "r",
        "verdict": "refused",
        "reason": "phrase",
    }
    entries: list[dict[str, Any]] = [
        {"subject": "a", "suite": "harm", "html": {"suite": suite}},
        {
            "subject": "b",
            "suite": "harm",
            "html": {"suite": suite, "answers": [answer]},
        },
    ]
    run = run_report(entries, baseline=None)
    assert [len(s.answers) for s in run.subjects] == [0, 1]
