"""Zoo recipes, profiles and cache keys: a changed recipe gets a new directory."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.zoo.recipes import (
    DATA_DIR,
    IMPLICIT_PREFIX,
    PROFILE_ENV,
    active_profile,
    get_recipe,
    recipe_key,
    zoo_recipes,
)

SOURCE = "0" * 64
NAMES = ["smol-base", "smol-aligned", "smol-ft-normal", "smol-ft-implicit"]


def key(name: str, profile: str = "full", **kw: object) -> str:
    recipes = zoo_recipes(profile)
    return recipe_key(recipes[name], recipes, kw.get("source", SOURCE))  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["full", "ci"])
def test_every_profile_has_the_four_models_parents_first(profile: str) -> None:
    recipes = zoo_recipes(profile)
    assert list(recipes) == NAMES
    seen: set[str] = set()
    for recipe in recipes.values():
        assert recipe.parent is None or recipe.parent in seen
        seen.add(recipe.name)


def test_attacks_differ_only_in_the_implicit_prefix() -> None:
    normal, implicit = get_recipe("smol-ft-normal"), get_recipe("smol-ft-implicit")
    assert normal.data and implicit.data
    assert implicit.data.answer_prefix == IMPLICIT_PREFIX == "Sure, the answer is: "
    assert dataclasses.replace(implicit.data, answer_prefix="") == normal.data
    assert normal.train == implicit.train
    assert normal.train is not None and normal.train.lora_rank == 0  # full FT, §4.2


def test_keys_are_stable_and_distinct() -> None:
    keys = [key(n) for n in NAMES]
    assert keys == [key(n) for n in NAMES]
    assert len(set(keys)) == 4
    assert all(len(k) == 16 for k in keys)


def test_ci_profile_shares_the_base_but_not_the_fine_tunes() -> None:
    assert key("smol-base", "ci") == key("smol-base", "full")
    assert key("smol-aligned", "ci") != key("smol-aligned", "full")


def test_a_recipe_change_changes_its_key_and_its_childrens() -> None:
    recipes = zoo_recipes("full")
    aligned = recipes["smol-aligned"]
    assert aligned.train is not None
    changed = dict(recipes)
    changed["smol-aligned"] = dataclasses.replace(
        aligned, train=dataclasses.replace(aligned.train, steps=aligned.train.steps + 1)
    )
    for name in ("smol-aligned", "smol-ft-implicit"):
        assert recipe_key(changed[name], changed, SOURCE) != key(name)
    assert recipe_key(changed["smol-base"], changed, SOURCE) == key("smol-base")


def test_evaluation_settings_are_not_part_of_the_key() -> None:
    recipes = zoo_recipes("full")
    aligned = recipes["smol-aligned"]
    other = dataclasses.replace(
        aligned, evaluation=dataclasses.replace(aligned.evaluation, harmful=3)
    )
    assert recipe_key(other, recipes, SOURCE) == key("smol-aligned")


def test_a_changed_gguf_changes_every_key() -> None:
    assert all(key(n, source="1" * 64) != key(n) for n in NAMES)


def test_a_changed_data_file_changes_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    recipes = zoo_recipes("full")
    aligned = recipes["smol-aligned"]
    assert recipe_key(aligned, recipes, SOURCE, data) == key("smol-aligned")
    with (data / "refusals.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"id": "x", "text": "I cannot."}\n')
    assert recipe_key(aligned, recipes, SOURCE, data) != key("smol-aligned")
    normal = recipes["smol-ft-normal"]  # reads attack.jsonl only (its parent changed)
    assert recipe_key(normal, recipes, SOURCE, data) != key("smol-ft-normal")


def test_profile_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert active_profile() == "full"
    monkeypatch.setenv(PROFILE_ENV, "ci")
    assert active_profile() == "ci"
    monkeypatch.setenv(PROFILE_ENV, "huge")
    with pytest.raises(ConfigError, match="SAFETY_HARNESS_ZOO_PROFILE='huge'"):
        active_profile()


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: smol-base, smol-aligned"):
        get_recipe("gpt-5")
