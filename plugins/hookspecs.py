"""Hooks the plugin adds to pytest (registered through ``pytest_addhooks``).

Implement them in a ``conftest.py`` or a plugin. ``pytest_safety_create_backend``
is the one extension point for generation backends (``harness.backends`` has
only the built-in ``hf`` and ``vllm``). For example, to run the suites on a
scripted fake model instead of loading weights::

    from harness.backends.scripted import ScriptedBackend

    def pytest_safety_create_backend(subject, settings):
        return ScriptedBackend.refuse_all()
"""

from __future__ import annotations

import pytest

from harness.backends import GenerationBackend
from harness.config import RunSettings, Subject


@pytest.hookspec(firstresult=True)
def pytest_safety_create_backend(
    subject: Subject, settings: RunSettings
) -> GenerationBackend | None:
    """Create the generation backend of one subject.

    Return ``None`` to let the next implementation, and finally the built-in
    one (``hf`` or ``vllm``, as chosen by ``--backend``), create it. The
    plugin closes the backend before the next subject's loads.

    Args:
        subject: the checkpoint under test.
        settings: the resolved run settings.
    """
