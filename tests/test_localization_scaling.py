"""In-place scaling (paper §3.4.1): which weights, and bit-exact restoration."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import transformers

from harness.errors import CheckpointError, ConfigError
from harness.localization.scaling import (
    scaled_layers,
    scaled_weight_names,
)

SMALL = {
    "vocab_size": 64,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}
ARCHITECTURES = ("llama", "mistral", "qwen2", "gemma", "phi3")


def tiny_model(kind: str) -> Any:
    extra = {"head_dim": 8} if kind == "gemma" else {}
    config = transformers.AutoConfig.for_model(kind, **SMALL, **extra)
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


def snapshot(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ARCHITECTURES)
def test_scaling_multiplies_exactly_the_projections_and_restores_bits(
    kind: str,
) -> None:
    model = tiny_model(kind)
    before = snapshot(model)
    with scaled_layers(model, 1, 2, 1.37):
        inside = snapshot(model)
    after = snapshot(model)
    scaled = set()
    for name, value in before.items():
        assert torch.equal(after[name], value), f"{name} not restored bit-exactly"
        if torch.equal(inside[name], value):
            continue
        scaled.add(name)
        assert torch.equal(inside[name], value * 1.37)
    names = {n.split(".", 3)[3] for n in scaled}
    layers = {int(n.split(".")[2]) for n in scaled}
    assert layers == {1, 2}
    assert not any("norm" in n for n in names)
    if kind == "phi3":
        assert names == {
            "self_attn.qkv_proj.weight",
            "self_attn.o_proj.weight",
            "mlp.gate_up_proj.weight",
            "mlp.down_proj.weight",
        }
    else:
        assert names == {f"self_attn.{p}_proj.weight" for p in "qkvo"} | {
            f"mlp.{p}_proj.weight" for p in ("gate", "up", "down")
        }


def test_o_proj_can_be_left_alone() -> None:
    model = tiny_model("llama")
    layer = model.model.layers[0]
    assert "self_attn.o_proj.weight" not in scaled_weight_names(
        layer, include_o_proj=False
    )
    before = layer.self_attn.o_proj.weight.detach().clone()
    with scaled_layers(model, 0, 0, 2.0, include_o_proj=False):
        assert torch.equal(layer.self_attn.o_proj.weight, before)
        assert not torch.equal(layer.self_attn.q_proj.weight, before[:0])


def test_restores_after_an_error_and_keeps_no_model_copy() -> None:
    model = tiny_model("qwen2")
    before = snapshot(model)
    params = {id(p) for p in model.parameters()}
    with pytest.raises(RuntimeError), scaled_layers(model, 0, 3, 0.8):
        assert {id(p) for p in model.parameters()} == params  # same tensors
        raise RuntimeError("boom")
    after = snapshot(model)
    assert all(torch.equal(after[k], v) for k, v in before.items())


def test_ranges_are_inclusive_and_checked() -> None:
    model = tiny_model("llama")
    with pytest.raises(ConfigError, match=r"\[2, 4\]"), scaled_layers(model, 2, 4, 1.1):
        pass
    with pytest.raises(ConfigError), scaled_layers(model, 3, 2, 1.1):
        pass


def test_unknown_projection_names_are_reported() -> None:
    block = torch.nn.Module()
    block.self_attn = torch.nn.Module()
    block.self_attn.c_attn = torch.nn.Linear(4, 12)
    with pytest.raises(CheckpointError, match="q_proj"):
        scaled_weight_names(block)
