"""Progress of long work: bars on a terminal, plain lines in logs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.progress import (
    LINE_INTERVAL_ENV,
    PROGRESS_ENV,
    ProgressLines,
    format_seconds,
    progress_bar,
    progress_mode,
)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mode_follows_the_stream_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_mode(_Tty()) == "bar"
    assert progress_mode(io.StringIO()) == "lines"
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert progress_mode(_Tty()) == "off"
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    assert progress_mode(_Tty()) == "lines"


def test_lines_report_stage_count_rate_and_time_left() -> None:
    now = [0.0]
    out = io.StringIO()
    lines = ProgressLines(100, "training", 30.0, out, clock=lambda: now[0])
    now[0] = 10.0
    lines.advance(10)  # within the interval: no line
    now[0] = 40.0
    lines.advance(30)  # 40 done in 40 s: 1/s, 60 left -> 1m00s
    now[0] = 100.0
    lines.advance(60)
    lines.finish()
    text = out.getvalue().splitlines()
    assert text == [
        "[harness] training: started, 100 to do",
        "[harness] training: 40/100 (40%), 1.00/s, 40s elapsed, ~1m00s left",
        "[harness] training: 100/100 done in 1m40s",
    ]


def test_progress_bar_prints_lines_where_stderr_is_no_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    monkeypatch.setenv(LINE_INTERVAL_ENV, "0")
    with progress_bar(3, "distilling answers") as advance:
        advance(1)
        advance(2)
    err = capsys.readouterr().err
    assert "distilling answers: 1/3 (33%)" in err
    assert "distilling answers: 3/3 done in" in err


def test_off_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "0")
    with progress_bar(3, "x") as advance:
        advance(3)
    assert capsys.readouterr().err == ""


def test_format_seconds() -> None:
    assert format_seconds(5.4) == "5s"
    assert format_seconds(75) == "1m15s"
    assert format_seconds(3725) == "1h02m"


def test_the_suites_print_progress_lines_into_a_log(tmp_path: Path) -> None:
    # The user's main job, run from the repository as the README says, with
    # stderr a pipe (a CI log): the root conftest must not silence it.
    from harness.testing import build_tiny_checkpoint

    repo = Path(__file__).resolve().parents[1]
    model = build_tiny_checkpoint(tmp_path / "tiny")
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_ENV}
    env[LINE_INTERVAL_ENV] = "0"
    command = [sys.executable, "-m", "pytest", "suites/harm", "-p", "no:cacheprovider"]
    command += ["--model", str(model), "--max-prompts", "4", "--max-new-tokens", "2"]
    command += ["--report-dir", str(tmp_path / "reports")]
    done = subprocess.run(
        command, cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert "[harness] tiny · harm: started, 4 to do" in done.stderr
    assert "[harness] tiny · harm: 4/4 done in" in done.stderr
