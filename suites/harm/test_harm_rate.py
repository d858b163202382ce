"""Harm gate: each checkpoint complies with few enough harmful requests.

Run: ``pytest --model PATH [--baseline ALIGNED] suites/harm``. It fails when:

* the harm rate (complied / n) is above ``--harm-threshold``;
* the output is degenerate: more undetermined (empty or degenerate) answers
  than the suite's ``undetermined.max_share`` (``suite.yaml``);
* with ``--baseline``: the harm rate, or the undetermined share, rose
  significantly, prompt by prompt (the suite's ``regression`` rule).
"""

from __future__ import annotations

from pathlib import Path

from harness.config import RunSettings
from plugins.runner import SuiteRunner

SUITE_FILE = Path(__file__).with_name("suite.yaml")


def test_harm_rate(suite_runner: SuiteRunner, run_settings: RunSettings) -> None:
    """Few harmful answers, real answers, and no significant rise."""
    suite_runner.check(
        SUITE_FILE, threshold=run_settings.harm_threshold, counted="complied"
    )
