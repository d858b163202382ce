"""The HTML report: self-contained, every section, model text escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from harness.html_report import RunReport, SubjectReport, write_html_report
from harness.testing.report import synthetic_run_report


def test_report_has_every_section_and_inline_images(tmp_path: Path) -> None:
    run = synthetic_run_report()
    path = write_html_report(tmp_path / "report.html", run)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for heading in (
        "<h2>smol-ft-implicit</h2>",
        "Suites",
        "Flips against the baseline",
        "Angle-gap curves",
        "Drift",
        "Worst examples",
    ):
        assert heading in text
    assert "<span class='fail'>FAIL</span>" in text
    assert "21.0% – 51.0%" in text
    assert "14 / 0" in text  # newly answered / no longer answered
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) == 3  # gap curves, weight and representation heat-maps
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in text and "https://" not in text
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_model_text_is_escaped(tmp_path: Path) -> None:
    text = write_html_report(tmp_path / "r.html", synthetic_run_report()).read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text


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
