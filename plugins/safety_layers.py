"""Fixtures of the safety-layer suite: the two profiles and the drift.

The suite itself is decided by :func:`harness.gate.layers.decide_safety_layers`
(through :meth:`plugins.runner.SuiteRunner.safety_layers`); these fixtures
compute its inputs once per session, so a ``conftest.py`` can replace any of
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from harness.config import RunSettings, Subject
from harness.errors import HarnessError
from harness.gate.layers import locate, measure_drift
from harness.localization.profile import SafetyLayerProfile
from plugins.runner import fail, terminal_progress

T = TypeVar("T")


@pytest.fixture(scope="session")
def safety_profile(
    pytestconfig: pytest.Config,
    run_settings: RunSettings,
    subject: Subject,
    baseline_safety_profile: SafetyLayerProfile | None,
) -> SafetyLayerProfile:
    """The safety-layer profile of the checkpoint under test (paper §3); its
    search follows the baseline's (:func:`harness.gate.layers.locate`)."""
    return _or_fail(
        pytestconfig,
        lambda: locate(run_settings, subject, baseline_safety_profile),
        f"cannot localize the safety layers of {subject.name!r}",
    )


@pytest.fixture(scope="session")
def baseline_safety_profile(
    pytestconfig: pytest.Config,
    run_settings: RunSettings,
    baseline_subject: Subject | None,
) -> SafetyLayerProfile | None:
    """The ``--baseline`` checkpoint's profile, or ``None`` without a baseline."""
    if baseline_subject is None:
        return None
    return _or_fail(
        pytestconfig,
        lambda: locate(run_settings, baseline_subject),
        f"cannot localize the safety layers of {baseline_subject.name!r}",
    )


@pytest.fixture(scope="session")
def safety_drift(
    pytestconfig: pytest.Config,
    run_settings: RunSettings,
    subject: Subject,
    baseline_subject: Subject | None,
    safety_profile: SafetyLayerProfile,
    baseline_safety_profile: SafetyLayerProfile | None,
) -> dict[str, Any] | None:
    """Weight, representation and gap drift of the subject from the baseline.

    ``None`` without a baseline. Override it (returning ``None``) to judge the
    safety layers on the band checks alone.
    """
    if baseline_subject is None or baseline_safety_profile is None:
        return None
    profiles = (safety_profile, baseline_safety_profile)
    return _or_fail(
        pytestconfig,
        lambda: measure_drift(run_settings, subject, baseline_subject, profiles),
        f"{subject.name} against the baseline {baseline_subject.name}",
    )


def _or_fail(config: pytest.Config, compute: Callable[[], T], context: str) -> T:
    """Compute with progress on the terminal; a library error fails the test."""
    try:
        with terminal_progress(config):
            return compute()
    except HarnessError as e:
        error = e
    fail(f"{context}: {error}")
