"""The safety-layer suite: profiles of the subject and the baseline, and drift.

Each profile is computed once per checkpoint and cached on disk by the
checkpoint's fingerprint (:mod:`harness.localization`), so a baseline shared
by many runs is localized once. The JSON and PNG go to
``<report-dir>/<subject>/safety_layers/``. The verdict comes from the band
checks (when the baseline has a band) and from the drift of weights,
last-token states and the N–M angle gap against the baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.baseline_cache import BaselineCache, BaselineKey, settings_digest
from harness.checkpoint import resolve_device
from harness.config import RunSettings, Subject
from harness.drift import (
    GapCurve,
    assess_drift,
    compare_gap_curves,
    explain_drift,
    gap_curve,
    representation_drift,
    weight_drift_between,
)
from harness.drift.states import QueryStates, cached_query_states, query_states
from harness.drift.states import query_data_digest as states_data_digest
from harness.gate.engine import SuiteOutcome
from harness.gate.records import finite, layers_entry
from harness.io import write_json_atomic
from harness.layers import LayerRange
from harness.localization.api import locate_safety_layers, write_outputs
from harness.localization.gap import GapRule
from harness.localization.profile import SafetyLayerProfile
from harness.localization.regression import compare_profiles, load_policy
from harness.localization.reuse import fingerprint_once
from harness.localization.settings import LocalizationSettings
from harness.precision import choose_dtype
from harness.reports import report_path, subject_dir
from harness.zoo import resolve_ref


def locate(
    settings: RunSettings,
    subject: Subject,
    baseline: SafetyLayerProfile | None = None,
) -> SafetyLayerProfile:
    """Localize (or read from the cache) one subject's safety layers (paper §3).

    With the ``baseline``'s profile, the subject's search runs at the
    baseline's alpha, or not at all when the baseline located no range: the
    suite compares the two and needs no more
    (:meth:`~harness.localization.settings.LocalizationSettings.for_suite`).
    """
    out_dir = subject_dir(settings.report_dir, subject.name) / "safety_layers"
    model_dir = resolve_ref(subject.ref)
    if baseline is not None and baseline.model.fingerprint == fingerprint_once(
        model_dir
    ):
        # The baseline's own weights (the README's main job tests it against
        # itself): the same profile, not a second localization.
        if not (out_dir / PROFILE_JSON).is_file():
            write_outputs(baseline, out_dir)
        return baseline
    # The run's device, dtype and batch size; the rest are the paper's.
    return locate_safety_layers(
        model_dir,
        ref=subject.ref,
        settings=LocalizationSettings.for_suite(settings.localization_batch, baseline),
        load_options=settings.load_options(resolve_device(settings.device)),
        queries={"over_rejection": settings.over_rejection},
        out_dir=out_dir,
    )


#: The profile file :func:`harness.localization.api.write_outputs` writes.
PROFILE_JSON = "safety_profile.json"


def baseline_band(profile: SafetyLayerProfile) -> LayerRange | None:
    """The located range, else the gap rule's clear band, else ``None``."""
    if profile.safety_layers is not None:
        return profile.safety_layers
    band = profile.existence.band
    if band.found and band.first is not None and band.last is not None:
        return LayerRange(band.first, band.last)
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
    ours_dir = resolve_ref(subject.ref)
    theirs_dir = resolve_ref(baseline.ref)
    weights = weight_drift_between(ours_dir, theirs_dir)
    ours = _states(settings, ours_dir)
    theirs = _baseline_states(settings, theirs_dir)
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
    existence = profile.existence
    if existence.mode == "exact":
        return GapCurve(
            gap_deg=existence.gap_deg, noise_floor_deg=existence.noise_floor_deg
        )
    return gap_curve(states.normal, states.malicious, GapRule(), seed=seed)


def _states(settings: RunSettings, model_dir: str) -> QueryStates:
    options = settings.load_options(resolve_device(settings.device))
    return query_states(model_dir, options, batch_size=settings.localization_batch)


def _baseline_states(settings: RunSettings, model_dir: str) -> QueryStates:
    device = resolve_device(settings.device)
    key = BaselineKey(
        fingerprint=fingerprint_once(model_dir),
        settings_digest=settings_digest(
            {
                "data": states_data_digest(),
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


def decide_safety_layers(
    settings: RunSettings,
    suite_file: Path,
    subject: Subject,
    baseline: Subject,
    profiles: tuple[SafetyLayerProfile, SafetyLayerProfile],
    drift: dict[str, Any] | None,
) -> SuiteOutcome:
    """Band checks (when the baseline has a band) and drift, into a verdict.

    ``profiles`` are the subject's and the baseline's; ``drift`` is
    :func:`measure_drift`'s (``None``: judge on the band checks alone).
    Thresholds: the suite YAML's ``drift`` (:class:`harness.drift.DriftThresholds`).
    The outcome is ``skipped`` when there is nothing to regress from.
    """
    policy = load_policy(suite_file)
    profile, base_profile = profiles
    bands = compare_profiles(profile, base_profile, policy)
    if drift is None and bands.skip_reason:
        return SuiteOutcome(
            suite=policy.name,
            subject=subject.name,
            passed=True,
            message="",
            skipped=bands.skip_reason,
        )
    band = baseline_band(base_profile)
    assessment = assess_drift(policy.drift, band=band, **(drift or {}))
    failures = []
    if bands.problems:
        failures.append(bands.message(subject.name, baseline.name))
    if not assessment.passed:
        failures.append(
            explain_drift(assessment, subject=subject.name, baseline=baseline.name)
        )
    path = report_path(settings.report_dir, subject.name, policy.name)
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
        "settings": settings.model_dump(mode="json"),
    }
    write_json_atomic(path, finite(report))
    return SuiteOutcome(
        suite=policy.name,
        subject=subject.name,
        passed=not failures,
        message="\n\n".join(failures),
        record=entry,
        report_path=path,
    )
