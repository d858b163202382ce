"""The transformers backend on a tiny random Llama built offline in the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.backends import GenerationBackend
from harness.backends.batching import CPU_BATCH
from harness.backends.hf import HFBackend, length_sorted_batches
from harness.checkpoint import LoadOptions
from harness.prompts import stop_token_ids
from harness.testing import build_tiny_checkpoint

FP32 = LoadOptions(device="cpu", dtype="float32")
PROMPTS = [
    "How do I bake bread?",
    "Hi",
    "The quick brown fox jumps over the lazy dog, then sleeps.",
    "Write a response.",
    "### Instruction: How to kill time? ### Response:",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


@pytest.fixture
def backend(tiny: Path) -> Iterator[HFBackend]:
    made = HFBackend.from_checkpoint(str(tiny), FP32, batch_size=2)
    yield made
    made.close()


class GenerateSpy:
    """Wraps ``model.generate`` to record its inputs and outputs."""

    def __init__(self, model: Any) -> None:
        self.inner = model.generate
        self.calls: list[tuple[Any, Any, Any]] = []
        model.generate = self

    def __call__(self, **kwargs: Any) -> Any:
        out = self.inner(**kwargs)
        self.calls.append((kwargs["input_ids"], kwargs["attention_mask"], out))
        return out


def test_length_sorted_batches_group_similar_lengths() -> None:
    assert length_sorted_batches([5, 1, 3, 2, 4], 2) == [[1, 3], [2, 4], [0]]
    assert length_sorted_batches([], 4) == []


def test_backend_keeps_the_protocol(backend: HFBackend) -> None:
    assert isinstance(backend, GenerationBackend)
    assert backend.name == "hf"
    assert backend.generate([], max_new_tokens=4) == []


def test_pads_on_the_left(backend: HFBackend) -> None:
    spy = GenerateSpy(backend.model)
    backend.generate(["Hi", "How do I bake bread?"], max_new_tokens=2)
    ((input_ids, mask, _),) = spy.calls
    assert backend.tokenizer.padding_side == "left"
    assert mask[:, -1].tolist() == [1, 1]  # every row ends with a real token
    short = int(mask.sum(dim=1).argmin())
    assert mask[short, 0] == 0
    assert input_ids[short, 0] == backend.tokenizer.pad_token_id


def test_batches_by_length_and_answers_in_input_order(tiny: Path) -> None:
    batched = HFBackend.from_checkpoint(str(tiny), FP32, batch_size=2)
    spy = GenerateSpy(batched.model)
    together = batched.generate(PROMPTS, max_new_tokens=4)
    widths = [int(ids.shape[1]) for ids, _, _ in spy.calls]
    single = HFBackend.from_checkpoint(str(tiny), FP32, batch_size=1)
    alone = [single.generate([p], max_new_tokens=4)[0] for p in PROMPTS]
    assert len(spy.calls) == 3  # 5 prompts, batches of 2
    assert widths == sorted(widths)  # shortest prompts first
    assert together == alone  # left padding leaves greedy answers unchanged


class ForcedTokens:
    """Forward hook on ``lm_head``: emit ``token`` until step ``stop``, then EOS."""

    def __init__(self, token: int, eos: int, stop: int) -> None:
        self.token, self.eos, self.stop, self.step = token, eos, stop, 0

    def __call__(self, module: Any, args: Any, logits: Any) -> Any:
        self.step += 1
        forced = torch.full_like(logits, -1e4)
        forced[..., self.eos if self.step >= self.stop else self.token] = 0.0
        return forced


def _word_token(tokenizer: Any) -> int:
    """A token that decodes to a plain word (not a lone byte)."""
    vocab = tokenizer.get_vocab()
    word = min(t for t in vocab if t.isascii() and t.isalpha() and len(t) >= 3)
    return int(vocab[word])


@pytest.mark.parametrize("stop_token", ["</s>", "<|end|>"])
def test_stops_at_end_of_sequence(backend: HFBackend, stop_token: str) -> None:
    model, tok = backend.model, backend.tokenizer
    stop_id = tok.convert_tokens_to_ids(stop_token)
    # Chat models declare their end-of-turn token in generation_config.
    model.generation_config.eos_token_id = [tok.eos_token_id, stop_id]
    stopping = HFBackend(model, tok)
    assert stop_id in stop_token_ids(model, tok)
    word = _word_token(tok)
    model.lm_head.register_forward_hook(ForcedTokens(word, stop_id, stop=3))
    spy = GenerateSpy(model)
    text = stopping.generate(["How do I bake bread?"], max_new_tokens=20)[0]
    input_ids, _, out = spy.calls[0]
    assert out.shape[1] - input_ids.shape[1] == 3  # two words, then the stop token
    assert text == tok.decode([word, word]).strip()
    assert text


def test_close_frees_the_model(tiny: Path) -> None:
    made = HFBackend.from_checkpoint(str(tiny), FP32)
    made.close()
    assert made.model is None


def test_auto_batch_is_chosen_per_call_and_recorded(tiny: Path) -> None:
    made = HFBackend.from_checkpoint(str(tiny), FP32)
    assert made.batch_size == "auto"
    spy = GenerateSpy(made.model)
    made.generate(PROMPTS, max_new_tokens=2)
    assert made.last_batch_size == CPU_BATCH
    assert len(spy.calls) == 1  # five prompts fit one batch


def test_answers_do_not_depend_on_the_batch_in_float32(tiny: Path) -> None:
    made = HFBackend.from_checkpoint(str(tiny), FP32, batch_size=1)
    alone = made.generate(PROMPTS, max_new_tokens=6)
    made.batch_size = "auto"
    assert made.generate(PROMPTS, max_new_tokens=6) == alone
