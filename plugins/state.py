"""Typed keys of the plugin's state in ``config.stash`` and ``item.stash``."""

from __future__ import annotations

from typing import Any

import pytest

from harness.backends import BackendChoice
from harness.config import RunSettings, Subject
from harness.gate import GateEngine, SuiteOutcome
from harness.judges import Judge
from harness.layers import LayerRange
from harness.threads import ThreadPlan
from plugins.options import ResolvedSettings

#: The run settings, resolved once in ``pytest_configure``.
RESOLVED_KEY: pytest.StashKey[ResolvedSettings] = pytest.StashKey()
#: One subject per ``--model``, in command-line order, with unique names.
SUBJECTS_KEY: pytest.StashKey[tuple[Subject, ...]] = pytest.StashKey()
#: The backend ``auto`` resolved to (``None``: no subject, nothing chosen).
BACKEND_CHOICE_KEY: pytest.StashKey[BackendChoice | None] = pytest.StashKey()
#: The session's gate engine, once a suite asked for it.
ENGINE_KEY: pytest.StashKey[GateEngine] = pytest.StashKey()
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
BASELINE_BAND_KEY: pytest.StashKey[LayerRange | None] = pytest.StashKey()
#: How many threads torch uses in this process, and why.
THREADS_KEY: pytest.StashKey[ThreadPlan] = pytest.StashKey()
#: Summary records of the suites one test ran (on ``item.stash``).
ITEM_RESULTS_KEY: pytest.StashKey[list[dict[str, Any]]] = pytest.StashKey()


def settings_of(config: pytest.Config) -> RunSettings:
    """The resolved run settings of this session."""
    return config.stash[RESOLVED_KEY].settings
