"""Safety-layer gate: the checkpoint keeps the safety layers of its baseline.

Run: ``pytest --model FINETUNED --baseline ALIGNED suites/safety_layers``.
Skipped without ``--baseline``. It fails when the baseline's band vanished,
collapsed or moved (when the baseline has one), and, in every case, when the
weights, the last-token states or the N-M angle gap drifted from the
baseline's beyond the suite's ``drift`` thresholds.
"""

from __future__ import annotations

from pathlib import Path

from plugins.runner import SuiteRunner

SUITE_FILE = Path(__file__).with_name("suite.yaml")


def test_safety_layers_hold(suite_runner: SuiteRunner) -> None:
    """Band checks when the baseline has a band; drift always."""
    suite_runner.check_safety_layers(SUITE_FILE)
