"""Index conventions: vector k is HF ``hidden_states[k + 1]`` at the last position."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from harness.checkpoint import LoadOptions, load_checkpoint
from harness.localization.activations import last_token_states
from harness.localization.encoding import encode_prompts
from harness.prompts import PromptFormatter
from harness.testing.tiny import TinySpec, build_tiny_checkpoint

QUERIES = [
    "How to kill time?",
    "How do I bake bread?",
    "The quick brown fox jumps over the lazy dog, twice.",
    "x",
    "Sure",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    path = build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"), TinySpec(layers=5))
    return load_checkpoint(str(path), LoadOptions(dtype="float64"))


@pytest.mark.parametrize("template", ["chat", "alpaca"])
def test_vectors_are_hf_hidden_states_shifted_by_one(
    tiny: tuple[Any, Any], template: str
) -> None:
    model, tokenizer = tiny
    prompts = PromptFormatter(tokenizer, template).prompts(QUERIES)
    states = last_token_states(model, tokenizer, prompts, batch_size=2)
    assert states.shape == (len(QUERIES), 5, model.config.hidden_size)
    for row, prompt in enumerate(prompts):
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            hidden = model(**ids, output_hidden_states=True).hidden_states
        assert len(hidden) == 6  # embeddings + one per block
        for layer in range(5):
            expected = hidden[layer + 1][0, -1].float()
            torch.testing.assert_close(states[row, layer], expected)


def test_last_vector_is_after_the_final_norm(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    prompt = PromptFormatter(tokenizer, "alpaca").prompt("How to kill time?")
    states = last_token_states(model, tokenizer, [prompt, prompt])
    captured: list[Any] = []
    handle = model.model.layers[4].register_forward_hook(
        lambda m, a, out: captured.append(out[0] if isinstance(out, tuple) else out)
    )
    try:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            model(**ids)
    finally:
        handle.remove()
    raw = captured[0][0, -1]
    normed = model.model.norm(raw[None])[0].float()
    torch.testing.assert_close(states[0, 4], normed)
    assert not torch.allclose(states[0, 4], raw.float())


def test_shared_prefix_split_keeps_every_token(tiny: tuple[Any, Any]) -> None:
    _, tokenizer = tiny
    prompts = PromptFormatter(tokenizer, "alpaca").prompts(QUERIES)
    encoded = encode_prompts(tokenizer, prompts)
    assert len(encoded.prefix) > 10  # the Alpaca head is shared
    for index, prompt in enumerate(prompts):
        assert (
            encoded.full(index)
            == tokenizer(prompt, add_special_tokens=False)["input_ids"]
        )
        assert encoded.suffixes[index]


def test_hooks_are_removed(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    modules = [*model.model.layers, model.model.norm]
    before = [dict(m._forward_hooks) for m in modules]
    last_token_states(model, tokenizer, ["a b", "c d e"])
    assert [dict(m._forward_hooks) for m in modules] == before
