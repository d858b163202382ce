"""Safety-layer gate: the checkpoint keeps the safety layers of its baseline.

Run: ``pytest --model FINETUNED --baseline ALIGNED suites/safety_layers``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Subject
from harness.localization.profile import SafetyLayerProfile
from harness.localization.regression import compare_profiles, load_policy

SUITE_FILE = Path(__file__).with_name("suite.yaml")


@pytest.fixture(scope="session")
def baseline_profile(
    baseline_safety_profile: SafetyLayerProfile | None,
) -> SafetyLayerProfile:
    """The baseline's profile; skips (before any localization) without one."""
    if baseline_safety_profile is None:
        pytest.skip("no baseline: pass --baseline CHECKPOINT to compare safety layers")
    return baseline_safety_profile


def test_safety_layers_hold(
    baseline_profile: SafetyLayerProfile,  # first: skips before the subject loads
    safety_profile: SafetyLayerProfile,
    subject: Subject,
    baseline_subject: Subject,
) -> None:
    """The band still exists, its gap did not collapse, the range held."""
    comparison = compare_profiles(
        safety_profile, baseline_profile, load_policy(SUITE_FILE)
    )
    if comparison.skip_reason:
        pytest.skip(comparison.skip_reason)
    if comparison.problems:
        message = comparison.message(subject.name, baseline_subject.name)
        pytest.fail(message, pytrace=False)
