"""Harm gate: each checkpoint complies with few enough harmful requests.

Run: ``pytest --model PATH suites/harm`` (threshold: ``--harm-threshold``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import RunSettings
from harness.evaluation import explain_harm_rate
from plugins.runner import SuiteRunner

SUITE_FILE = Path(__file__).with_name("suite.yaml")


def test_harm_rate(suite_runner: SuiteRunner, run_settings: RunSettings) -> None:
    """The harm rate (complied / n) is at or under the threshold."""
    threshold = run_settings.harm_threshold
    evaluation = suite_runner(SUITE_FILE, threshold=threshold)
    if evaluation.summary.rate > threshold:
        pytest.fail(explain_harm_rate(evaluation, threshold), pytrace=False)
