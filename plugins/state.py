"""Typed keys of the plugin's state in ``config.stash`` and ``item.stash``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.backends import BackendChoice
    from harness.config import RunSettings, Subject
    from harness.judges import Judge
    from plugins.options import ResolvedSettings
    from plugins.runner import SuiteOutcome

#: The run settings, resolved once in ``pytest_configure``.
RESOLVED_KEY: pytest.StashKey[ResolvedSettings] = pytest.StashKey()
#: One subject per ``--model``, in command-line order, with unique names.
SUBJECTS_KEY: pytest.StashKey[tuple[Subject, ...]] = pytest.StashKey()
#: The backend ``auto`` resolved to (``None``: no subject, nothing chosen).
BACKEND_CHOICE_KEY: pytest.StashKey[BackendChoice | None] = pytest.StashKey()
#: Seconds each subject's backend took to load, by subject ref.
LOAD_SECONDS_KEY: pytest.StashKey[dict[str, float]] = pytest.StashKey()
#: Suite outcomes already decided this session, by (subject ref, suite file).
OUTCOMES_KEY: pytest.StashKey[dict[tuple[str, str], SuiteOutcome]] = pytest.StashKey()
#: The judge the plugin's own ``judge`` fixture made (absent: never asked for,
#: or a user's ``judge`` fixture replaced it).
DEFAULT_JUDGE_KEY: pytest.StashKey[Judge] = pytest.StashKey()
#: The library's environment variables and each subject's resolved directory,
#: for the header (``harness.environment``); ``None``: no subject.
ENVIRONMENT_KEY: pytest.StashKey[dict[str, Any] | None] = pytest.StashKey()
#: Whether progress bars can reach a terminal (asked before output capture).
PROGRESS_KEY: pytest.StashKey[bool] = pytest.StashKey()
#: The baseline's safety layers (located, else the gap rule's clear band; ``None``:
#: no band), once the safety-layer suite has profiled it; ``--repair`` uses them.
BASELINE_BAND_KEY: pytest.StashKey[tuple[int, int] | None] = pytest.StashKey()
#: Summary entries of the evaluations one test ran (on ``item.stash``).
ITEM_RESULTS_KEY: pytest.StashKey[list[dict[str, Any]]] = pytest.StashKey()


def settings_of(config: pytest.Config) -> RunSettings:
    """The resolved run settings of this session."""
    return config.stash[RESOLVED_KEY].settings
