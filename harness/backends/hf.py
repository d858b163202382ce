"""transformers backend: batched greedy ``generate`` with left padding."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

from harness.backends.base import ClosingBackend
from harness.checkpoint import LoadOptions, load_checkpoint
from harness.progress import Advance
from harness.prompts import adds_special_tokens, stop_token_ids


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group prompt indices into batches of similar length (less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class HFBackend(ClosingBackend):
    """Greedy generation with transformers, batched by prompt length."""

    name = "hf"

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 16) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._stop_ids = stop_token_ids(model, tokenizer)

    @classmethod
    def from_checkpoint(
        cls, ref: str, options: LoadOptions, *, batch_size: int = 16
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
        for batch in length_sorted_batches([len(e) for e in encoded], self.batch_size):
            texts = self._generate_batch([encoded[i] for i in batch], max_new_tokens)
            for index, text in zip(batch, texts, strict=True):
                outputs[index] = text
            if advance is not None:
                advance(len(batch))
        return outputs

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
