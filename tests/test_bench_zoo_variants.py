"""benchmarks/bench_zoo_variants.py: each change lands in the spec that owns it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness.zoo.recipes import get_recipe

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_zoo_variants.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_zoo_variants", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_data_change_reaches_the_data_spec_and_keeps_the_band(
    bench: ModuleType,
) -> None:
    recipe = get_recipe("smol-banded", "full")
    assert recipe.train is not None and recipe.data is not None
    changed = bench.variant(recipe, {"benign_repeat": 2, "steps": 160})
    assert changed.data.benign_repeat == 2
    assert changed.train.steps == 160
    assert changed.train.train_band == recipe.train.train_band == (10, 15)
    assert changed.data.files == recipe.data.files
    assert changed.key_material() != recipe.key_material()


def test_an_unknown_field_is_refused(bench: ModuleType) -> None:
    with pytest.raises(ValueError, match="no TrainSpec or DataSpec field"):
        bench.variant(get_recipe("smol-aligned", "full"), {"benign_weight": 2})


def test_every_named_variant_applies_to_both_align_recipes(bench: ModuleType) -> None:
    for name in ("smol-aligned", "smol-banded"):
        recipe = get_recipe(name, "full")
        for changes in bench.VARIANTS.values():
            changed = bench.variant(recipe, changes)
            for field, value in changes.items():
                spec = changed.train if hasattr(changed.train, field) else changed.data
                assert getattr(spec, field) == value, (name, field)
            assert changed.name == recipe.name and changed.parent == recipe.parent
