"""Loading checkpoints: sharded safetensors, pickles refused, LoRA adapters merged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.checkpoint import LoadOptions, inspect_checkpoint, load_checkpoint
from harness.errors import CheckpointError
from harness.testing import build_tiny_checkpoint

FP32 = LoadOptions(device="cpu", dtype="float32")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "base")


def _weights(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _copy_tokenizer(source: Path, target: Path) -> None:
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy(source / name, target / name)


def test_sharded_safetensors_load_whole(tiny: Path, tmp_path: Path) -> None:
    original, _ = load_checkpoint(str(tiny), FP32)
    sharded = tmp_path / "sharded"
    original.save_pretrained(sharded, max_shard_size="40KB")
    _copy_tokenizer(tiny, sharded)
    info = inspect_checkpoint(str(sharded))
    assert len(info.weight_files) > 1
    assert (sharded / "model.safetensors.index.json").is_file()
    model, tokenizer = load_checkpoint(str(sharded), FP32)
    assert _same(_weights(model), _weights(original))
    assert tokenizer.eos_token == "</s>"


@pytest.fixture
def pickled(tiny: Path, tmp_path: Path) -> Path:
    target = tmp_path / "pickled"
    target.mkdir()
    shutil.copy(tiny / "config.json", target / "config.json")
    _copy_tokenizer(tiny, target)
    model, _ = load_checkpoint(str(tiny), FP32)
    torch.save(model.state_dict(), target / "pytorch_model.bin")
    return target


def test_pickled_weights_are_refused_by_default(pickled: Path) -> None:
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(str(pickled), FP32)
    message = str(raised.value)
    assert "pytorch_model.bin" in message
    assert "--allow-pickle" in message
    assert "safetensors" in message


def test_pickled_weights_load_when_allowed(pickled: Path, tiny: Path) -> None:
    allowed = LoadOptions(device="cpu", dtype="float32", allow_pickle=True)
    model, _ = load_checkpoint(str(pickled), allowed)
    original, _ = load_checkpoint(str(tiny), FP32)
    assert _same(_weights(model), _weights(original))


def test_lora_adapter_is_merged_onto_its_base(tiny: Path, tmp_path: Path) -> None:
    import peft

    base, _ = load_checkpoint(str(tiny), FP32)
    before = _weights(base)
    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    adapted = peft.get_peft_model(base, config)
    adapter_dir = tmp_path / "adapter"
    adapted.save_pretrained(adapter_dir)
    expected = _weights(adapted.merge_and_unload())

    info = inspect_checkpoint(str(adapter_dir))
    merged, tokenizer = load_checkpoint(str(adapter_dir), FP32)
    weights = _weights(merged)

    assert info.kind == "lora" and info.base_ref == str(tiny)
    assert not any("lora" in name for name in weights)
    assert _same(weights, expected)
    q_proj = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(weights[q_proj], before[q_proj])
    assert tokenizer.eos_token == "</s>"  # an adapter borrows its base's tokenizer


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file").write_text("x") and p / "file", "is a file"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "neither config.json"),
    ],
)
def test_bad_directories_are_named(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(CheckpointError, match=message) as raised:
        inspect_checkpoint(str(path))
    assert str(path) in str(raised.value)


def test_a_config_with_its_own_model_code_needs_trust(
    tiny: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    shutil.copytree(tiny, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (remote / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="--trust-remote-code") as raised:
        inspect_checkpoint(str(remote))
    assert str(remote / "config.json") in str(raised.value)
    assert "auto_map" in str(raised.value)
    info = inspect_checkpoint(str(remote), trust_remote_code=True)
    assert info.config["auto_map"]


def test_a_zoo_reference_is_resolved_before_the_checkpoint_layer() -> None:
    with pytest.raises(CheckpointError, match=r"harness\.zoo\.resolve_ref"):
        inspect_checkpoint("zoo:smol-aligned")
