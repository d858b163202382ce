"""Supervised examples and their tokenization with the loss on the response only.

The prompt part of each sequence gets label ``-100`` (ignored by the
cross-entropy), so training teaches what to answer, not what users ask. The
prompt is tokenized on its own and the rest of the conversation appended, so
the boundary between masked and trained tokens is exact whatever the
tokenizer's merges do across it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.prompts import PromptFormatter, adds_special_tokens

IGNORE_INDEX = -100


@dataclass(frozen=True)
class SFTExample:
    """One instruction and the response the model should learn to give."""

    prompt: str
    response: str


@dataclass(frozen=True)
class TokenizedExample:
    """Token ids and labels (``-100`` where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)

    def features(self) -> dict[str, list[int]]:
        """The example as the dict the Trainer's samplers and collators expect."""
        return {"input_ids": self.input_ids, "labels": self.labels}


def tokenize_example(
    formatter: PromptFormatter, example: SFTExample, max_length: int
) -> TokenizedExample:
    """Tokenize one conversation; only response tokens (and the end token) carry labels.

    Sequences longer than ``max_length`` are cut from the end, so the response is
    shortened first; the prompt is never cut.
    """
    tokenizer = formatter.tokenizer
    prompt, full = formatter.conversation(example.prompt, example.response)
    prompt_ids = _encode(
        tokenizer, prompt, special=adds_special_tokens(tokenizer, prompt)
    )
    answer_ids = _encode(tokenizer, full[len(prompt) :], special=False)
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return TokenizedExample(input_ids=input_ids, labels=labels)


def _encode(tokenizer: Any, text: str, *, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def tokenize_examples(
    formatter: PromptFormatter, examples: Sequence[SFTExample], max_length: int
) -> list[TokenizedExample]:
    """Tokenize many examples, dropping those with no trained token left."""
    tokenized = [tokenize_example(formatter, e, max_length) for e in examples]
    return [t for t in tokenized if t.trained_tokens > 0]


class PadCollator:
    """Right-pad a batch: ``attention_mask`` 0 and labels ``-100`` on padding."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: Sequence[Mapping[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            pad = width - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_token_id] * pad)
            labels.append(item["labels"] + [IGNORE_INDEX] * pad)
            mask.append([1] * len(item["input_ids"]) + [0] * pad)
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
        }
