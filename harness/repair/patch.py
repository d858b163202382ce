"""Rung: a patch fine-tune of the failing checkpoint on a few refusals.

A few of the baseline's *own* refusals (its greedy answers to harmful
training prompts, kept where the keyword judge calls them refusals) are mixed
with examples of the fine-tune's data and trained into the failing checkpoint
for a few epochs (arXiv 2601.01887 recovers alignment this way from one or a
few safety examples), optionally with contrasts against over-refusal
(:mod:`harness.repair.demonstrations`). Nothing is retrained from the baseline, so
what the fine-tune taught stays unless the patch overwrites it; the utility
check measures what it cost.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.repair.settings import PatchSettings
from harness.repair.weights import ModelPair
from harness.training import SFTConfig, SFTExample, SFTResult, train_sft


def patch_mix(
    refusals: Sequence[SFTExample],
    data: Sequence[SFTExample],
    settings: PatchSettings,
    seed: int,
    contrasts: Sequence[SFTExample] = (),
) -> list[SFTExample]:
    """The refusals, the contrasts and a seeded sample of the fine-tune's data,
    shuffled."""
    rng = random.Random(seed)
    chosen = rng.sample(list(data), min(settings.data_examples, len(data)))
    mixed = [*refusals, *contrasts, *chosen]
    rng.shuffle(mixed)
    return mixed


def train_patch(
    pair: ModelPair,
    examples: Sequence[SFTExample],
    settings: PatchSettings,
    *,
    seed: int,
    checkpoint_dir: Path,
    lora_rank: int = 0,
) -> SFTResult:
    """Fine-tune the failing checkpoint (the pair's working model) on ``examples``:
    every weight, or LoRA adapters of ``lora_rank`` on every block (merged back)
    where full fine-tuning does not fit in memory."""
    model: Any = pair.load(pair.finetuned)
    model.train()
    steps = max(1, math.ceil(settings.epochs * len(examples) / settings.batch_size))
    config = SFTConfig(
        steps=steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=0,
        max_length=settings.max_length,
        lora_rank=lora_rank,
        lora_alpha=2 * lora_rank,
        dtype=settings.dtype,
        seed=seed,
    )
    return train_sft(
        model,
        pair.tokenizer,
        examples,
        config,
        checkpoint_dir=checkpoint_dir,
        save_steps=max(1, steps // 4),
        resume=True,
    )
