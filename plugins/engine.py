"""The gate engine's settings for a pytest session.

Not a fixture module: the ``--repair`` flow imports it too, and the plugin's
entry module must not import a module that pytest registers (and rewrites)
later.
"""

from __future__ import annotations

import pytest

from harness.backends import GenerationBackend
from harness.config import RunSettings, Subject
from harness.gate import GateSettings
from harness.judges import Judge
from plugins import state
from plugins.runner import terminal_progress


def gate_settings(config: pytest.Config, judge: Judge | None = None) -> GateSettings:
    """The engine's settings for this session: the run's options, the
    ``pytest_safety_create_backend`` hook, terminal progress, and ``judge``
    (a user's ``judge`` fixture) when it replaces the suites' own."""

    def hook(subject: Subject, settings: RunSettings) -> GenerationBackend | None:
        made: GenerationBackend | None = config.hook.pytest_safety_create_backend(
            subject=subject, settings=settings
        )
        return made

    return GateSettings(
        run=state.settings_of(config),
        backend_hook=hook,
        backend_tags=tuple(backend_hooks(config)),
        judge=judge,
        progress=lambda: terminal_progress(config),
    )


def backend_hooks(config: pytest.Config) -> list[str]:
    """The plugins implementing ``pytest_safety_create_backend``, by name.

    A conftest's backend answers differently from the built-in one, so the
    plugins that may provide the backend are part of the baseline cache key.
    """
    hook = config.pluginmanager.hook.pytest_safety_create_backend
    names = (
        config.pluginmanager.get_name(impl.plugin) for impl in hook.get_hookimpls()
    )
    return sorted(_portable(name) for name in names if name)


def _portable(name: str) -> str:
    # a conftest registers under its absolute path: keep its file name and
    # parent folder only, stable across checkouts.
    parts = name.replace("\\", "/").rsplit("/", 2)
    return "/".join(parts[-2:])
