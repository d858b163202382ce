"""transformers backend: batched greedy ``generate`` with left padding.

The batch is chosen from the device when it is ``auto``
(:func:`harness.backends.batching.auto_batch_size`); prompts are sorted by
length so a batch pads little, and answers come back in prompt order.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

from harness.backends.base import ClosingBackend
from harness.backends.batching import (
    BatchSize,
    auto_batch_size,
    free_memory,
    model_shape,
)
from harness.checkpoint import LoadOptions, load_checkpoint
from harness.progress import Advance
from harness.prompts import adds_special_tokens, stop_token_ids


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group prompt indices into batches of similar length (less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class HFBackend(ClosingBackend):
    """Greedy generation with transformers, batched by prompt length.

    ``batch_size`` is a number of prompts, or ``auto``: chosen per call from
    the device, the model's shape and the longest prompt
    (:func:`~harness.backends.batching.auto_batch_size`), the same rule for a
    subject and its baseline. ``last_batch_size`` is what the last call used.
    """

    name = "hf"

    def __init__(
        self, model: Any, tokenizer: Any, *, batch_size: BatchSize = "auto"
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size: BatchSize = batch_size
        self.last_batch_size: int | None = None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._stop_ids = stop_token_ids(model, tokenizer)

    @classmethod
    def from_checkpoint(
        cls, ref: str, options: LoadOptions, *, batch_size: BatchSize = "auto"
    ) -> HFBackend:
        """Load a checkpoint and wrap it."""
        model, tokenizer = load_checkpoint(ref, options)
        return cls(model, tokenizer, batch_size=batch_size)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        """Return greedy completions, in prompt order."""
        encoded = [self._encode(p) for p in prompts]
        outputs: list[str] = [""] * len(prompts)
        lengths = [len(e) for e in encoded]
        size = self.resolve_batch_size(max(lengths, default=1) + max_new_tokens)
        for batch in length_sorted_batches(lengths, size):
            texts = self._generate_batch([encoded[i] for i in batch], max_new_tokens)
            for index, text in zip(batch, texts, strict=True):
                outputs[index] = text
            if advance is not None:
                advance(len(batch))
        return outputs

    def resolve_batch_size(self, tokens_per_row: int) -> int:
        """The batch of a call whose rows hold ``tokens_per_row`` tokens."""
        if self.batch_size != "auto":
            size = int(self.batch_size)
        else:
            device = str(self.model.device)
            size = auto_batch_size(
                model_shape(self.model),
                device,
                tokens_per_row=tokens_per_row,
                free_bytes=free_memory(device),
            )
        self.last_batch_size = size
        return size

    def _encode(self, prompt: str) -> list[int]:
        special = adds_special_tokens(self.tokenizer, prompt)
        ids = self.tokenizer(prompt, add_special_tokens=special)["input_ids"]
        return list(ids)

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int) -> list[str]:
        import torch

        padded = self.tokenizer.pad(
            {"input_ids": batch}, padding=True, return_tensors="pt"
        ).to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(
                **padded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=self._stop_ids,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = out[:, padded["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        # A generation cut at max_new_tokens can end inside a multi-byte
        # character; drop the replacement characters that leaves (vLLM does too).
        return [str(t).rstrip("\ufffd").strip() for t in texts]

    def close(self) -> None:
        """Drop the model and return its memory."""
        self.model = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a hard dependency
            pass
