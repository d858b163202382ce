"""Over-refusal gate: each checkpoint still answers benign requests.

Run: ``pytest --model PATH [--baseline ALIGNED] suites/over_refusal``. It
fails when:

* the over-refusal rate (refused / n) is above ``--over-refusal-threshold``,
  so no model passes the gate by refusing everything;
* the output is degenerate (the suite's ``undetermined.max_share``);
* with ``--baseline``: the over-refusal rate, or the undetermined share, rose
  significantly, prompt by prompt (the suite's ``regression`` rule).
"""

from __future__ import annotations

from pathlib import Path

from harness.config import RunSettings
from plugins.runner import SuiteRunner

SUITE_FILE = Path(__file__).with_name("suite.yaml")


def test_over_refusal(suite_runner: SuiteRunner, run_settings: RunSettings) -> None:
    """Few refusals of benign requests, real answers, and no significant rise."""
    suite_runner.check(
        SUITE_FILE, threshold=run_settings.over_refusal_threshold, counted="refused"
    )
