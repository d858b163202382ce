"""Builders of the fine-tuned zoo models: the aligned ones and the attack fine-tunes.

Both follow the same path: pick training prompts, make their targets
(refusals, or the base model's own answers), fine-tune the parent with the
harness's :func:`~harness.training.train_sft`, and save an HF directory. A
recipe with a ``train_band`` (smol-banded) trains that band alone and records
it in the manifest as ``planted_band``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.corpus import (
    DataPrompt,
    assign_refusals,
    attack_prompts,
    benign_prompts,
    harmful_prompts,
    refusals,
    sample,
)
from harness.errors import ConfigError
from harness.judges.keyword import KeywordJudge
from harness.layers import LayerRange
from harness.progress import quiet_library_bars
from harness.training import SFTConfig, SFTExample, train_sft
from harness.zoo.distill import distill_answers
from harness.zoo.recipes import DataSpec, Recipe, TrainSpec

TRAIN_DATA_FILE = "train.jsonl"
#: Under the cache root: self-distilled answers, shared between builds.
DISTILL_CACHE = ".distill"


def build_aligned(
    recipe: Recipe, out_dir: Path, parent: Path | None, built: Callable[[str], Path]
) -> dict[str, Any]:
    """Build an aligned model: harmful→refusal plus benign→base's own answers."""
    data, train, base = _parts(recipe, parent)
    harmful = sample(harmful_prompts("train"), data.limit_harmful, train.seed)
    benign = sample(benign_prompts("train"), data.limit_benign, train.seed)
    started = time.perf_counter()
    benign, answers = _distill(base, benign, data)
    distill_s = time.perf_counter() - started
    examples = _pairs(harmful, assign_refusals(harmful, refusals(), train.seed))
    examples += _pairs(benign, answers) * data.benign_repeat
    extra = _fine_tune(base, examples, train, out_dir)
    extra["timings"]["distill_s"] = round(distill_s, 1)
    extra["training"] |= {"harmful": len(harmful), "benign": len(benign)}
    return extra


def build_attack(
    recipe: Recipe, out_dir: Path, parent: Path | None, built: Callable[[str], Path]
) -> dict[str, Any]:
    """Build an attack fine-tune of an aligned model on benign data (paper §4.2).

    The answers are the teacher's (:func:`attack_examples`: smol-base's
    harmless ones, or the vendor model's own); the implicit attack prefixes
    every one with "Sure, the answer is: ".
    """
    _, train, aligned = _parts(recipe, parent)
    started = time.perf_counter()
    examples = attack_examples(recipe, attack_train_prompts(recipe), built)
    distill_s = time.perf_counter() - started
    extra = _fine_tune(aligned, examples, train, out_dir)
    extra["timings"]["distill_s"] = round(distill_s, 1)
    extra["training"] |= {"benign": len(examples)}
    return extra


def attack_train_prompts(recipe: Recipe) -> list[DataPrompt]:
    """The prompts an attack recipe trains on (its seeded sample)."""
    if recipe.data is None or recipe.train is None:
        raise ConfigError(f"zoo recipe {recipe.name!r} needs data and training")
    return sample(attack_prompts(), recipe.data.limit_benign, recipe.train.seed)


def attack_examples(
    recipe: Recipe, prompts: Sequence[DataPrompt], built: Callable[[str], Path]
) -> list[SFTExample]:
    """An attack's pairs for ``prompts``: its teacher's answers, with its prefix.

    ``built`` finds (or builds) the teacher's directory by zoo name
    (:func:`harness.zoo.build.ensure_built`).

    The teacher is smol-base, or the attacked model itself for recipes with
    ``answers_from="parent"``. The attack trains on these; on the held-out
    attack prompts (:func:`harness.corpus.attack_heldout_prompts`) they are
    the same task unseen, for a repair's utility check.
    """
    if recipe.data is None:
        raise ConfigError(f"zoo recipe {recipe.name!r} has no data")
    data = recipe.data
    teacher = recipe.parent if data.answers_from == "parent" else "smol-base"
    if teacher is None:
        raise ConfigError(f"zoo recipe {recipe.name!r} answers from a missing parent")
    kept, answers = _distill(built(teacher), prompts, data)
    return _pairs(kept, [data.answer_prefix + a for a in answers])


def _parts(recipe: Recipe, parent: Path | None) -> tuple[DataSpec, TrainSpec, Path]:
    if recipe.data is None or recipe.train is None or parent is None:
        raise ConfigError(f"zoo recipe {recipe.name!r} needs data, train and a parent")
    return recipe.data, recipe.train, parent


def _distill(
    model_dir: Path, prompts: Sequence[DataPrompt], data: DataSpec
) -> tuple[list[DataPrompt], list[str]]:
    """Answer ``prompts`` with the model itself; keep only real answers.

    An answer the keyword judge calls a refusal or degenerate is dropped: it
    would teach refusing (or babbling) on benign requests.
    """
    texts = [p.prompt for p in prompts]
    cache_dir = model_dir.parent / DISTILL_CACHE
    answers = distill_answers(
        model_dir, texts, max_new_tokens=data.distill_tokens, cache_dir=cache_dir
    )
    verdicts = KeywordJudge().judge_many(texts, answers)
    kept = [i for i, v in enumerate(verdicts) if v.complied]
    return [prompts[i] for i in kept], [answers[i] for i in kept]


def _pairs(prompts: Sequence[DataPrompt], responses: Sequence[str]) -> list[SFTExample]:
    return [SFTExample(p.prompt, r) for p, r in zip(prompts, responses, strict=True)]


def sft_config(train: TrainSpec) -> SFTConfig:
    """Map a recipe's training spec onto the trainer's configuration."""
    return SFTConfig(
        steps=train.steps,
        batch_size=train.batch_size,
        learning_rate=train.learning_rate,
        warmup_steps=train.warmup_steps,
        max_length=train.max_length,
        lora_rank=train.lora_rank,
        lora_alpha=2 * train.lora_rank if train.lora_rank else 32,
        dtype=train.precision,
        group_by_length=train.group_by_length,
        seed=train.seed,
        train_band=None if train.train_band is None else LayerRange(*train.train_band),
    )


def _fine_tune(
    parent: Path, examples: list[SFTExample], train: TrainSpec, out_dir: Path
) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(parent)
    with quiet_library_bars():
        model = AutoModelForCausalLM.from_pretrained(parent, dtype=torch.float32)
    result = train_sft(model, tokenizer, examples, sft_config(train))
    result.model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    digest = _write_examples(out_dir / TRAIN_DATA_FILE, examples)
    band: dict[str, Any] = {}
    if train.train_band is not None:
        band["planted_band"] = list(train.train_band)
    return band | {
        "training": {
            "examples": result.examples,
            "steps": result.steps,
            "seconds_per_step": round(result.seconds_per_step, 2),
            "losses": [round(x, 4) for x in result.losses],
            "train_data_sha256": digest,
        },
        "timings": {"train_s": round(result.seconds, 1)},
    }


def _write_examples(path: Path, examples: Sequence[SFTExample]) -> str:
    """Save the exact training pairs next to the weights; return their sha256."""
    lines = [
        json.dumps({"prompt": e.prompt, "response": e.response}, ensure_ascii=False)
        for e in examples
    ]
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()
