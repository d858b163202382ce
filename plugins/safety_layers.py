"""Session fixtures: the safety-layer profiles of the subject and the baseline.

Each profile is computed once per checkpoint and cached on disk by the
checkpoint's fingerprint (``harness.localization``), so a baseline shared by
many runs is localized once. The JSON and PNG go to
``<report-dir>/<subject>/safety_layers/``. Nothing heavy is imported here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from harness.config import RunSettings, Subject
    from harness.localization.profile import SafetyLayerProfile


@pytest.fixture(scope="session")
def safety_profile(run_settings: RunSettings, subject: Subject) -> SafetyLayerProfile:
    """The safety-layer profile of the checkpoint under test (paper §3)."""
    return locate_for(run_settings, subject)


@pytest.fixture(scope="session")
def baseline_safety_profile(
    run_settings: RunSettings, baseline_subject: Subject | None
) -> SafetyLayerProfile | None:
    """The ``--baseline`` checkpoint's profile, or ``None`` without a baseline."""
    if baseline_subject is None:
        return None
    return locate_for(run_settings, baseline_subject)


def locate_for(settings: RunSettings, subject: Subject) -> SafetyLayerProfile:
    """Localize (or read from the cache) one subject's safety layers."""
    from harness.checkpoint import resolve_device
    from harness.errors import HarnessError
    from harness.localization.api import locate_safety_layers
    from harness.localization.settings import LocalizationSettings
    from plugins.fixtures import checkpoint_dir

    folder = re.sub(r"[^A-Za-z0-9_.-]+", "_", subject.name)
    out_dir = settings.report_dir / folder / "safety_layers"
    try:
        # The run's device, dtype and batch size; the rest are the paper's.
        options = settings.load_options(resolve_device(settings.device))
        return locate_safety_layers(
            checkpoint_dir(subject.ref),
            ref=subject.ref,
            settings=LocalizationSettings(batch_size=settings.batch_size),
            load_options=options,
            out_dir=out_dir,
        )
    except HarnessError as e:
        error = e
    _fail(f"cannot localize the safety layers of {subject.name!r}: {error}")


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)
