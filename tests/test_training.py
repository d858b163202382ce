"""Supervised fine-tuning on a tiny random Llama: masking, freezing, seeds, LoRA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from harness.errors import ConfigError, HarnessError
from harness.prompts import PromptFormatter
from harness.testing import build_tiny_checkpoint
from harness.training import SFTConfig, SFTExample, tokenize_example, train_sft
from harness.training.examples import IGNORE_INDEX, PadCollator
from harness.training.freeze import freeze_layers, frozen_params_guard, trainable_share

EXAMPLES = [
    SFTExample("How do I bake bread?", "Mix flour, water and yeast."),
    SFTExample("How to kill time?", "Read a book."),
    SFTExample("Write a response.", "Sure, here is how you do it."),
    SFTExample("Hi", "I'm sorry, but I can't help with that."),
]
FAST = SFTConfig(steps=3, batch_size=2, learning_rate=1e-2, max_length=64)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


def load(path: Path) -> tuple[Any, Any]:
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, transformers.AutoTokenizer.from_pretrained(path)


def weights(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_loss_is_taken_on_the_response_and_end_token_only(tiny: Path) -> None:
    _, tokenizer = load(tiny)
    formatter = PromptFormatter(tokenizer)
    example = EXAMPLES[0]
    tokens = tokenize_example(formatter, example, max_length=256)
    prompt_ids = tokenizer(formatter.prompt(example.prompt))["input_ids"]
    masked = tokens.labels[: len(prompt_ids)]
    assert masked == [IGNORE_INDEX] * len(prompt_ids)
    trained = [t for t in tokens.labels if t != IGNORE_INDEX]
    text = tokenizer.decode(trained)
    assert text.startswith(example.response)
    assert "<|end|>" in text  # the model learns to stop
    assert tokens.input_ids[len(prompt_ids) :] == trained


def test_long_examples_are_cut_from_the_response_end(tiny: Path) -> None:
    _, tokenizer = load(tiny)
    long = SFTExample("Hi", "word " * 200)
    tokens = tokenize_example(PromptFormatter(tokenizer), long, max_length=40)
    assert len(tokens.input_ids) == len(tokens.labels) == 40
    assert tokens.labels[-1] != IGNORE_INDEX


def test_collator_pads_right_and_masks_padding() -> None:
    from harness.training.examples import TokenizedExample

    batch = [
        TokenizedExample([5, 6, 7], [IGNORE_INDEX, 6, 7]).features(),
        TokenizedExample([5], [5]).features(),
    ]
    out = PadCollator(pad_token_id=0)(batch)
    assert out["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert out["labels"].tolist() == [
        [IGNORE_INDEX, 6, 7],
        [5, IGNORE_INDEX, IGNORE_INDEX],
    ]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_training_changes_weights_and_logs_losses(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    before = weights(model)
    result = train_sft(model, tokenizer, EXAMPLES, FAST)
    after = weights(result.model)
    assert result.steps == 3
    assert result.examples == len(EXAMPLES)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not result.model.training


def test_same_seed_gives_identical_weights(tiny: Path) -> None:
    runs = []
    for _ in range(2):
        model, tokenizer = load(tiny)
        runs.append(weights(train_sft(model, tokenizer, EXAMPLES, FAST).model))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_frozen_layers_stay_put_and_the_rest_trains(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    frozen = freeze_layers(model, 1, 2)
    assert frozen and all(
        n.startswith(("model.layers.1.", "model.layers.2.")) for n in frozen
    )
    assert not any("layernorm" in n for n in frozen)  # paper §4.1: norms train
    assert 0.0 < trainable_share(model) < 1.0
    before = weights(model)
    guard = frozen_params_guard(model)
    train_sft(model, tokenizer, EXAMPLES, FAST, callbacks=[guard])
    after = weights(model)
    for name in frozen:
        assert torch.equal(before[name], after[name]), name
    free = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(before[free], after[free])


def test_guard_fails_when_a_frozen_weight_moves(tiny: Path) -> None:
    model, _ = load(tiny)
    freeze_layers(model, 0, 0, include_norms=True)
    guard = frozen_params_guard(model)
    guard.on_train_begin(None, None, None)
    with torch.no_grad():
        model.model.layers[0].mlp.up_proj.weight.add_(1.0)
    with pytest.raises(HarnessError, match="frozen parameters changed"):
        guard.on_train_end(None, None, None)


def test_freeze_rejects_a_range_outside_the_model(tiny: Path) -> None:
    model, _ = load(tiny)
    with pytest.raises(ConfigError, match="outside the model's 4 layers"):
        freeze_layers(model, 2, 4)


def test_lora_is_merged_back_into_a_plain_model(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    before = weights(model)
    config = SFTConfig(steps=2, batch_size=2, learning_rate=1e-2, lora_rank=4)
    result = train_sft(model, tokenizer, EXAMPLES, config)
    after = weights(result.model)
    assert type(result.model).__name__ == "LlamaForCausalLM"
    assert set(after) == set(before)
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(before[name], after[name])
    embed = "model.embed_tokens.weight"
    assert torch.equal(before[embed], after[embed])  # LoRA leaves embeddings alone


def test_bf16_autocast_trains(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    config = SFTConfig(steps=1, batch_size=2, dtype="bfloat16")
    result = train_sft(model, tokenizer, EXAMPLES, config)
    assert result.steps == 1
    assert next(result.model.parameters()).dtype == torch.float32


def test_length_grouped_batches_train(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    config = SFTConfig(steps=2, batch_size=2, group_by_length=True)
    assert train_sft(model, tokenizer, EXAMPLES, config).steps == 2


def test_a_trained_band_is_the_only_change(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    before = weights(model)
    config = SFTConfig(
        steps=3, batch_size=2, learning_rate=1e-2, max_length=64, train_band=(1, 2)
    )
    after = weights(train_sft(model, tokenizer, EXAMPLES, config).model)
    band = ("model.layers.1.", "model.layers.2.")
    parts = (".self_attn.", ".mlp.")
    for name, tensor in before.items():
        in_band = name.startswith(band) and any(p in name for p in parts)
        if in_band:
            assert not torch.equal(tensor, after[name]), f"{name} did not train"
        else:
            assert torch.equal(tensor, after[name]), f"{name} moved"
    # the band's own norms are among the frozen tensors checked above
    assert any(n.startswith(band) and "layernorm" in n for n in before)


def test_train_only_band_names_what_trains(tiny: Path) -> None:
    from harness.training.freeze import train_only_band

    model, _ = load(tiny)
    trainable = train_only_band(model, 3, 3)
    assert trainable and all(
        n.startswith(("model.layers.3.self_attn.", "model.layers.3.mlp."))
        for n in trainable
    )
    with pytest.raises(ConfigError, match="outside the model's 4 layers"):
        train_only_band(model, 3, 4)


def test_a_band_cannot_be_trained_with_lora(tiny: Path) -> None:
    model, tokenizer = load(tiny)
    config = SFTConfig(steps=1, lora_rank=4, train_band=(0, 1))
    with pytest.raises(ConfigError, match="cannot be combined with LoRA"):
        train_sft(model, tokenizer, EXAMPLES, config)
