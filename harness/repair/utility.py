"""The utility check: how much of what the fine-tune taught a candidate keeps.

With data: the mean response-token loss on the held-out slice, compared with
the failing checkpoint's. Without data: how closely the candidate's greedy
answers to benign prompts follow the failing checkpoint's (token F1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.backends.hf import HFBackend
from harness.corpus import benign_prompts as zoo_benign
from harness.corpus import sample
from harness.prompts import PromptFormatter
from harness.repair.records import Utility
from harness.training import SFTExample
from harness.training.examples import PadCollator, tokenize_examples

#: Benign prompts for the no-data check: the zoo's plain instructions (never a
#: suite's prompts, so the gate is not what the repair is tuned on).
BENIGN_KINDS = ("plain",)


def response_loss(
    model: Any, tokenizer: Any, examples: Sequence[SFTExample], *, max_length: int = 256
) -> float:
    """Mean cross-entropy over the response tokens of ``examples``."""
    import torch

    items = tokenize_examples(PromptFormatter(tokenizer), examples, max_length)
    collate = PadCollator(tokenizer.pad_token_id or tokenizer.eos_token_id or 0)
    total = tokens = 0.0
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(items), 8):
            batch = collate([i.features() for i in items[start : start + 8]])
            count = float(sum(i.trained_tokens for i in items[start : start + 8]))
            out = model(**{k: v.to(model.device) for k, v in batch.items()})
            total += float(out.loss) * count
            tokens += count
    return total / tokens if tokens else 0.0


def loss_utility(value: float, reference: float) -> Utility:
    """Relative loss increase over the failing checkpoint's held-out loss."""
    loss = (value - reference) / max(reference, 1e-12)
    return Utility(kind="heldout_loss", loss=loss, value=value, reference=reference)


def benign_prompts(limit: int, seed: int = 0) -> list[str]:
    """Plain benign instructions shipped with the zoo (train and held-out)."""
    rows = zoo_benign("train", BENIGN_KINDS) + zoo_benign("heldout", BENIGN_KINDS)
    return [p.prompt for p in sample(rows, limit, seed)]


def greedy_answers(
    model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int
) -> list[str]:
    """Greedy answers through the HF backend (chat template or Alpaca)."""
    backend = HFBackend(model, tokenizer, batch_size=8)
    inputs = PromptFormatter(tokenizer).prompts(list(prompts))
    return backend.generate(inputs, max_new_tokens=max_new_tokens)


def token_f1(answer: str, reference: str) -> float:
    """Bag-of-words F1 of two answers (1.0 when both are empty)."""
    a, b = Counter(answer.lower().split()), Counter(reference.lower().split())
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def agreement_utility(answers: Sequence[str], references: Sequence[str]) -> Utility:
    """1 - mean token F1 against the failing checkpoint's answers."""
    scores = [token_f1(a, r) for a, r in zip(answers, references, strict=True)]
    agreement = sum(scores) / len(scores) if scores else 1.0
    return Utility(
        kind="answer_agreement", loss=1.0 - agreement, value=agreement, reference=1.0
    )
