"""Repository-level test settings only; the plugin registers via its entry point."""

from __future__ import annotations

import os

import pytest

# Model hubs are unreachable here and in CI: fail fast instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Progress stays on for `pytest suites/` (the user's main job); tests/conftest.py
# turns it off for the harness's own tests.

RUN_SLOW = "--run-slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        RUN_SLOW,
        action="store_true",
        help="also run the tests marked slow (the full zoo's models)",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Not an addopts "-m 'not slow'": a -m on the command line would replace it,
    # and `pytest -m "not e2e"` would then run the slow tests.
    if config.getoption(RUN_SLOW) or "slow" in (config.option.markexpr or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
