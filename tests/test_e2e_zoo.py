"""End to end on the real SmolLM2 weights: the reduced (ci) zoo, built from scratch
once per session by ``tests/conftest.py``.

It runs the code users run (``python -m harness zoo build``), only with the
``ci`` profile's fewer steps and prompts, into a throwaway cache. It checks
the claim the zoo exists for: the aligned model refuses held-out harmful
requests more often than its implicit-attack fine-tune.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# Converts one model and trains two (about 3 minutes on 2 cores): runs in CI.
pytestmark = pytest.mark.e2e


def test_ci_build_makes_base_aligned_and_implicit(
    ci_zoo: dict[str, dict[str, Any]],
) -> None:
    assert set(ci_zoo) == {"smol-base", "smol-aligned", "smol-ft-implicit"}
    for manifest in ci_zoo.values():
        assert manifest["metrics"]["harmful"]["n"] > 0


def test_aligned_refuses_more_than_its_implicit_attack(
    ci_zoo: dict[str, dict[str, Any]],
) -> None:
    aligned = ci_zoo["smol-aligned"]["metrics"]["harmful"]["refusal_rate"]
    attacked = ci_zoo["smol-ft-implicit"]["metrics"]["harmful"]["refusal_rate"]
    base = ci_zoo["smol-base"]["metrics"]["harmful"]["refusal_rate"]
    assert aligned > attacked, (aligned, attacked)
    assert aligned > base, (aligned, base)


def test_models_are_plain_safetensors_checkpoints(
    ci_zoo: dict[str, dict[str, Any]],
) -> None:
    from harness.checkpoint import inspect_checkpoint

    for manifest in ci_zoo.values():
        info = inspect_checkpoint(manifest["path"])
        assert info.kind == "hf"
        assert not info.pickled
        assert (Path(manifest["path"]) / "tokenizer.json").is_file()
