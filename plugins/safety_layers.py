"""The safety-layer suite: profiles of the subject and the baseline, and drift.

Each profile is computed once per checkpoint and cached on disk by the
checkpoint's fingerprint (``harness.localization``), so a baseline shared by
many runs is localized once. The JSON and PNG go to
``<report-dir>/<subject>/safety_layers/``. Nothing heavy is imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from plugins import state

if TYPE_CHECKING:
    from harness.config import RunSettings, Subject
    from harness.drift import GapCurve
    from harness.drift.states import QueryStates
    from harness.localization.profile import SafetyLayerProfile
    from harness.localization.regression import Comparison, SafetyLayerPolicy
    from plugins.runner import SuiteOutcome, SuiteRunner


@pytest.fixture(scope="session")
def safety_profile(run_settings: RunSettings, subject: Subject) -> SafetyLayerProfile:
    """The safety-layer profile of the checkpoint under test (paper §3)."""
    return locate_for(run_settings, subject)


@pytest.fixture(scope="session")
def baseline_safety_profile(
    pytestconfig: pytest.Config,
    run_settings: RunSettings,
    baseline_subject: Subject | None,
) -> SafetyLayerProfile | None:
    """The ``--baseline`` checkpoint's profile, or ``None`` without a baseline.

    Its band is recorded for ``--repair``, which freezes or reverts it.
    """
    if baseline_subject is None:
        return None
    profile = locate_for(run_settings, baseline_subject)
    pytestconfig.stash[state.BASELINE_BAND_KEY] = baseline_band(profile)
    return profile


def locate_for(settings: RunSettings, subject: Subject) -> SafetyLayerProfile:
    """Localize (or read from the cache) one subject's safety layers."""
    from harness.checkpoint import resolve_device
    from harness.errors import HarnessError
    from harness.localization.api import locate_safety_layers
    from harness.localization.settings import LocalizationSettings
    from harness.reports import subject_dir
    from plugins.fixtures import checkpoint_dir

    out_dir = subject_dir(settings.report_dir, subject.name) / "safety_layers"
    try:
        # The run's device, dtype and batch size; the rest are the paper's.
        options = settings.load_options(resolve_device(settings.device))
        return locate_safety_layers(
            checkpoint_dir(subject.ref),
            ref=subject.ref,
            settings=LocalizationSettings(batch_size=settings.batch_size),
            load_options=options,
            queries={"over_rejection": settings.over_rejection},
            out_dir=out_dir,
        )
    except HarnessError as e:
        error = e
    _fail(f"cannot localize the safety layers of {subject.name!r}: {error}")


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def safety_drift(
    request: pytest.FixtureRequest,
    subject: Subject,
    baseline_subject: Subject | None,
    safety_profile: SafetyLayerProfile,
    baseline_safety_profile: SafetyLayerProfile | None,
) -> dict[str, Any] | None:
    """Weight, representation and gap drift of the subject from the baseline.

    ``None`` without a baseline. Override it (returning ``None``) to judge the
    safety layers on the band checks alone.
    """
    from harness.errors import HarnessError

    if baseline_subject is None or baseline_safety_profile is None:
        return None
    settings = state.settings_of(request.config)
    profiles = (safety_profile, baseline_safety_profile)
    try:
        return measure_drift(settings, subject, baseline_subject, profiles)
    except HarnessError as e:
        error = e
    _fail(f"{subject.name} against the baseline {baseline_subject.name}: {error}")


def run_safety_layers(
    runner: SuiteRunner, suite_file: Path, baseline: Subject
) -> SuiteOutcome:
    """Band checks (when the baseline has a band) and drift (``safety_drift``).

    Weight drift compares the checkpoint directories; representation drift and
    the gap curves compare last-token states on the localization's N and M
    queries (the baseline's cached once). Thresholds: the suite YAML's
    ``drift`` (:class:`harness.drift.DriftThresholds`). The profiles and the
    drift come from fixtures, so a ``conftest.py`` can replace them.
    """
    from harness.errors import HarnessError
    from harness.localization.regression import compare_profiles, load_policy

    try:
        policy = load_policy(suite_file)
    except HarnessError as e:
        _fail(f"{runner.subject.name}: {e}")
    fixture = runner.request.getfixturevalue
    base_profile: SafetyLayerProfile = fixture("baseline_safety_profile")
    profile: SafetyLayerProfile = fixture("safety_profile")
    bands = compare_profiles(profile, base_profile, policy)
    drift: dict[str, Any] | None = fixture("safety_drift")
    if drift is None and bands.skip_reason:
        pytest.skip(bands.skip_reason)  # nothing measured, nothing to regress from
    return _outcome(runner, baseline, policy, bands, drift, baseline_band(base_profile))


def baseline_band(profile: SafetyLayerProfile) -> tuple[int, int] | None:
    """The located range, else the gap rule's clear band, else ``None``."""
    if profile.safety_layers is not None:
        return (profile.safety_layers[0], profile.safety_layers[1])
    band = profile.existence.band
    if band.found and band.first is not None and band.last is not None:
        return (band.first, band.last)
    return None


def measure_drift(
    settings: RunSettings,
    subject: Subject,
    baseline: Subject,
    profiles: tuple[SafetyLayerProfile, SafetyLayerProfile],
) -> dict[str, Any]:
    """Weight drift, representation drift and the gap-curve comparison.

    ``profiles`` (subject's, baseline's) hold the gap curves and their noise
    floors already; the states are read again for the paired cosine.
    """
    from harness.drift import (
        compare_gap_curves,
        representation_drift,
        weight_drift_between,
    )
    from plugins.fixtures import checkpoint_dir

    subject_dir = checkpoint_dir(subject.ref)
    baseline_dir = checkpoint_dir(baseline.ref)
    weights = weight_drift_between(subject_dir, baseline_dir)
    ours = _states(settings, subject_dir)
    theirs = _baseline_states(settings, baseline_dir)
    return {
        "weights": weights,
        "representation": representation_drift(
            ours.normal, ours.malicious, theirs.normal, theirs.malicious
        ),
        "gap": compare_gap_curves(
            _gap(profiles[0], ours, settings.seed),
            _gap(profiles[1], theirs, settings.seed),
        ),
    }


def _gap(profile: SafetyLayerProfile, states: QueryStates, seed: int) -> GapCurve:
    """The profile's exact gap curve, else one computed from ``states``."""
    from harness.drift import GapCurve, gap_curve
    from harness.localization.gap import GapRule

    existence = profile.existence
    if existence.mode == "exact":
        return GapCurve(
            gap_deg=existence.gap_deg, noise_floor_deg=existence.noise_floor_deg
        )
    return gap_curve(states.normal, states.malicious, GapRule(), seed=seed)


def _states(settings: RunSettings, model_dir: str) -> QueryStates:
    from harness.checkpoint import resolve_device
    from harness.drift.states import query_states

    options = settings.load_options(resolve_device(settings.device))
    return query_states(model_dir, options, batch_size=settings.batch_size)


def _baseline_states(settings: RunSettings, model_dir: str) -> QueryStates:
    from harness.baseline_cache import BaselineCache, BaselineKey, settings_digest
    from harness.checkpoint import fingerprint_checkpoint, resolve_device
    from harness.drift.states import cached_query_states, query_data_digest
    from harness.precision import choose_dtype

    device = resolve_device(settings.device)
    key = BaselineKey(
        fingerprint=fingerprint_checkpoint(model_dir),
        settings_digest=settings_digest(
            {
                "data": query_data_digest(),
                "dtype": choose_dtype(settings.dtype, device),
                "device": device,
                "template": "auto",
            }
        ),
        suite="safety_layers-states",
    )
    return cached_query_states(
        BaselineCache(), key, lambda: _states(settings, model_dir)
    )


def _outcome(
    runner: SuiteRunner,
    baseline: Subject,
    policy: SafetyLayerPolicy,
    bands: Comparison,
    drift: dict[str, Any] | None,
    band: tuple[int, int] | None,
) -> SuiteOutcome:
    from harness.drift import assess_drift, explain_drift
    from harness.reports import report_path, write_json_atomic
    from plugins.entries import finite, layers_entry
    from plugins.runner import SuiteOutcome

    subject = runner.subject
    assessment = assess_drift(policy.drift, band=band, **(drift or {}))
    failures = []
    if bands.problems:
        failures.append(bands.message(subject.name, baseline.name))
    if not assessment.passed:
        failures.append(
            explain_drift(assessment, subject=subject.name, baseline=baseline.name)
        )
    path = report_path(runner.settings.report_dir, subject.name, policy.name)
    entry = layers_entry(
        subject, policy.name, band=band, bands=bands, drift=drift, assessment=assessment
    )
    entry["report"] = str(path)
    report = {
        "subject": {"name": subject.name, "ref": subject.ref},
        "baseline": {"name": baseline.name, "ref": baseline.ref},
        "suite": {"name": policy.name, "policy": policy.model_dump(mode="json")},
        "passed": not failures,
        "failures": failures,
        "band": band,
        "band_checks": {"problems": bands.problems, "notes": bands.notes},
        "drift": {k: v.model_dump(mode="json") for k, v in (drift or {}).items()},
        "assessment": assessment.model_dump(mode="json"),
        "settings": runner.settings.model_dump(mode="json"),
    }
    write_json_atomic(path, finite(report))
    return SuiteOutcome(
        suite=policy.name,
        passed=not failures,
        message="\n\n".join(failures),
        entry=entry,
    )
