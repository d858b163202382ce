"""Prompt batches that share their common token prefix (one pass, many prompts).

Every prompt of a query set is wrapped in the same template, so the token ids of
all prompts begin with the same run (the system prompt and the template head).
That shared prefix is run once, with batch size one, and its key/value cache is
repeated for the batch; only the per-prompt remainders (the *suffixes*) are run
batched. Suffixes are padded on their left, i.e. in the middle of the full
sequence, and the attention mask hides the padding, so every real token sees
exactly the tokens (and positions) it would see in an unpadded run.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.prompts import adds_special_tokens

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class EncodedPrompts:
    """Token ids of a prompt set, split into the shared prefix and the suffixes.

    Attributes:
        prefix: Token ids every prompt begins with.
        suffixes: Per prompt, the ids after the prefix; never empty, so the last
            prompt position always lies in the batched part.
    """

    prefix: tuple[int, ...]
    suffixes: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.suffixes)

    def full(self, index: int) -> list[int]:
        """Return the complete token ids of prompt ``index``."""
        return [*self.prefix, *self.suffixes[index]]


def encode_prompts(tokenizer: Any, texts: Sequence[str]) -> EncodedPrompts:
    """Tokenize formatted prompts and split off their longest common prefix."""
    ids = [
        list(
            tokenizer(t, add_special_tokens=adds_special_tokens(tokenizer, t))[
                "input_ids"
            ]
        )
        for t in texts
    ]
    if not ids:
        return EncodedPrompts((), ())
    shared = _common_prefix_length(ids)
    # Keep at least one token per prompt out of the prefix: its last position is
    # the one the analysis reads (paper §3.2) and the one generation starts from.
    shared = min(shared, min(len(i) for i in ids) - 1)
    shared = max(shared, 0)
    return EncodedPrompts(
        prefix=tuple(ids[0][:shared]),
        suffixes=tuple(tuple(i[shared:]) for i in ids),
    )


def _common_prefix_length(ids: list[list[int]]) -> int:
    first = ids[0]
    length = min(len(i) for i in ids)
    for position in range(length):
        token = first[position]
        if any(i[position] != token for i in ids):
            return position
    return length


def length_sorted_chunks(
    encoded: EncodedPrompts, batch_size: int
) -> Iterator[list[int]]:
    """Yield prompt indices in batches whose suffixes all have the same length.

    Equal lengths mean no padding tokens at all, so no compute is spent on them.
    """
    groups: dict[int, list[int]] = {}
    for index, suffix in enumerate(encoded.suffixes):
        groups.setdefault(len(suffix), []).append(index)
    for length in sorted(groups):
        members = groups[length]
        for start in range(0, len(members), batch_size):
            yield members[start : start + batch_size]


@dataclass
class PaddedChunk:
    """Model inputs for the suffixes of one chunk, padded in the middle.

    Attributes:
        input_ids: ``[batch, suffix_len]`` suffix ids, left-padded.
        attention_mask: ``[batch, prefix_len + suffix_len]``; 0 on padding.
        position_ids: ``[batch, suffix_len]``; real tokens continue the prefix.
        next_position: ``[batch]`` position of the first generated token.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    next_position: torch.Tensor


def pad_chunk(
    encoded: EncodedPrompts, indices: Sequence[int], pad_id: int, device: Any
) -> PaddedChunk:
    """Build middle-padded inputs for the suffixes of ``indices``."""
    import torch

    suffixes = [encoded.suffixes[i] for i in indices]
    width = max(len(s) for s in suffixes)
    prefix_len = len(encoded.prefix)
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(suffixes), prefix_len + width), dtype=torch.long)
    mask[:, :prefix_len] = 1
    positions = torch.full((len(suffixes), width), prefix_len, dtype=torch.long)
    for row, suffix in enumerate(suffixes):
        start = width - len(suffix)
        ids[row, start:] = torch.tensor(suffix, dtype=torch.long)
        mask[row, prefix_len + start :] = 1
        positions[row, start:] = torch.arange(prefix_len, prefix_len + len(suffix))
    lengths = torch.tensor([prefix_len + len(s) for s in suffixes], dtype=torch.long)
    return PaddedChunk(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        next_position=lengths.to(device),
    )


def cache_keyword(model: Any) -> str:
    """Name of the key/value-cache argument of ``model.forward``.

    transformers 5 calls it ``cache``; earlier versions ``past_key_values``.
    """
    parameters = inspect.signature(model.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def new_cache(model: Any) -> Any:
    """Return an empty dynamic key/value cache laid out for ``model``."""
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers: no config argument
        return DynamicCache()


class PrefixCache:
    """The key/value cache of the shared prefix, computed once per model state."""

    def __init__(self, model: Any, prefix: Sequence[int]) -> None:
        self.model = model
        self.prefix = list(prefix)
        self._cache: Any = None

    def compute(self) -> None:
        """Run the shared prefix (batch size one) through the current weights."""
        import torch

        self._cache = new_cache(self.model)
        if not self.prefix:
            return
        ids = torch.tensor([self.prefix], dtype=torch.long, device=self.model.device)
        with torch.inference_mode():
            self.model(
                input_ids=ids,
                use_cache=True,
                logits_to_keep=1,
                **{cache_keyword(self.model): self._cache},
            )

    def expanded(self, batch: int) -> Any:
        """Return a fresh copy of the prefix cache repeated ``batch`` times."""
        if self._cache is None:
            self.compute()
        cache = copy.deepcopy(self._cache)
        if self.prefix:
            cache.batch_repeat_interleave(batch)
        return cache
