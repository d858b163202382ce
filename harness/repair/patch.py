"""Rung: a patch fine-tune of the failing checkpoint on a few refusals.

A few of the baseline's *own* refusals (its greedy answers to harmful
training prompts, kept where the keyword judge calls them refusals) are mixed
with examples of the fine-tune's data and trained into the failing checkpoint
for a few epochs (arXiv 2601.01887 recovers alignment this way from one or a
few safety examples). Refusals alone teach refusing anything that sounds
harmful, so the mix can also hold contrasts: benign requests that sound
harmful (the zoo's ``edgy`` training instructions) with the baseline's own
answers where it did not refuse. Nothing is retrained from the baseline, so
what the fine-tune taught stays unless the patch overwrites it; the utility
check measures what it cost.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.corpus import DataPrompt, benign_prompts, harmful_prompts, sample
from harness.judges.keyword import KeywordJudge
from harness.repair.settings import PatchSettings
from harness.repair.utility import greedy_answers
from harness.repair.weights import ModelPair
from harness.training import SFTConfig, SFTExample, SFTResult, train_sft

#: Prompts asked per example wanted (some answers are not of the kind wanted).
_ASKED_PER_EXAMPLE = 2


def _baseline_examples(
    pair: ModelPair,
    pool: Sequence[DataPrompt],
    count: int,
    settings: PatchSettings,
    seed: int,
    *,
    refused: bool,
) -> list[SFTExample]:
    """Up to ``count`` prompts of ``pool`` with the baseline's own greedy answers,
    kept where the keyword judge's refusal verdict is ``refused``."""
    if count == 0:
        return []
    prompts = [p.prompt for p in sample(pool, count * _ASKED_PER_EXAMPLE, seed)]
    model = pair.load(pair.baseline)
    answers = greedy_answers(model, pair.tokenizer, prompts, settings.answer_tokens)
    judge = KeywordJudge()
    kept = [
        SFTExample(prompt, answer.strip())
        for prompt, answer in zip(prompts, answers, strict=True)
        if answer.strip() and judge.judge(prompt, answer).refused == refused
    ]
    return kept[:count]


def baseline_refusals(
    pair: ModelPair, count: int, settings: PatchSettings, seed: int
) -> list[SFTExample]:
    """Up to ``count`` harmful training prompts with the baseline's own refusals."""
    pool = harmful_prompts("train")
    return _baseline_examples(pair, pool, count, settings, seed, refused=True)


def baseline_contrasts(
    pair: ModelPair, count: int, settings: PatchSettings, seed: int
) -> list[SFTExample]:
    """Up to ``count`` benign training requests that sound harmful, with the
    baseline's own answers where it did not refuse them."""
    pool = benign_prompts("train", kinds=("edgy",))
    return _baseline_examples(pair, pool, count, settings, seed, refused=False)


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
