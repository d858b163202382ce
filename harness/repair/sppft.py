"""Rung d: SPPFT (paper §4), fine-tune the baseline again with the band frozen.

The safety band's attention and MLP get ``requires_grad_(False)`` before the
Trainer builds its optimizer (:func:`harness.training.freeze.freeze_layers`);
training goes through :func:`harness.training.train_sft`, the zoo's trainer,
with checkpoints every ``save_steps`` and resume. Defaults are the paper's
Table 6 (3 epochs, batch 4, 100 warmup steps, lr 1e-4 as for Llama-3 and
gemma; Llama-2 used 3e-4, Phi-3 6e-4). A small share of safety
demonstrations (zoo training-split harmful prompts → refusals; Bianchi et al.
2024 mix about 3%) is added unless ``safety_share`` is 0, and
``contrast_examples`` of the baseline's own answers to benign requests that
sound harmful, against the over-refusal that refusals alone teach
(:mod:`harness.repair.demonstrations`).

LoRA mode (the failing checkpoint is a PEFT adapter, or ``lora: true`` for a
model whose full fine-tune does not fit in memory, such as a merged LoRA
attack on a 1.5B model): a LoRA whose ``layers_to_transform`` leaves the band
out. Either way :func:`verify_frozen` proves afterwards that the band's tensors
equal the baseline's bit for bit.

Several processes: ``accelerate launch --multi_gpu --num_processes 2 -m
harness.repair --baseline B --data F --band A,B --out DIR`` (on a machine
without GPUs this starts two CPU processes with gloo; ``--cpu`` instead makes
accelerate start one process). Every process checks the frozen band.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.checkpoint import LoadOptions, load_checkpoint
from harness.errors import HarnessError
from harness.layers import LayerRange, num_layers
from harness.repair import demonstrations
from harness.repair.data import load_repair_data
from harness.repair.settings import ANSWER_TOKENS, SPPFTSettings
from harness.repair.sparse import harmful_pairs
from harness.repair.weights import block_keys
from harness.training import SFTConfig, SFTExample, SFTResult, train_sft
from harness.training.freeze import freeze_layers, frozen_params_guard

if TYPE_CHECKING:
    import torch


@dataclass
class SPPFTRun:
    """The trained model and what the run proved and measured."""

    model: Any
    tokenizer: Any
    sft: SFTResult
    frozen: list[str]
    #: Band tensors found bit-identical to the baseline's after training.
    verified: list[str]
    examples: int
    safety_examples: int
    contrast_examples: int
    lora: bool


def training_mix(
    examples: Sequence[SFTExample],
    share: float,
    seed: int,
    contrasts: Sequence[SFTExample] = (),
) -> tuple[list[SFTExample], int]:
    """The user's examples and the contrasts, plus safety demonstrations that
    make up ``share`` of them and the user's examples together; shuffled."""
    mixed = [*examples, *contrasts]
    count = round(share / (1.0 - share) * len(examples)) if share > 0 else 0
    if count:
        mixed += harmful_pairs(count, seed)
    random.Random(seed).shuffle(mixed)
    return mixed, count


def train_sppft(
    baseline: str,
    examples: Sequence[SFTExample],
    band: LayerRange | None,
    settings: SPPFTSettings,
    *,
    checkpoint_dir: Path,
    lora: bool = False,
    resume: bool = True,
    callbacks: Sequence[Any] = (),
) -> SPPFTRun:
    """Fine-tune ``baseline`` on ``examples`` with ``band`` frozen; verify the band.

    ``band`` ``None`` freezes nothing: full fine-tuning on the same mix, the
    control that SPPFT is compared with.

    Raises:
        HarnessError: a frozen tensor differs from the baseline's afterwards.
    """
    model, tokenizer = load_checkpoint(baseline, LoadOptions(dtype="float32"))
    layers = num_layers(model)
    if band is not None:
        band.check(layers)
    state = model.state_dict()
    keys = [] if band is None else block_keys(state, band)
    before = {k: state[k].detach().clone() for k in keys}
    contrasts = demonstrations.baseline_contrasts(
        model, tokenizer, settings.contrast_examples, ANSWER_TOKENS, settings.seed
    )
    mixed, safety = training_mix(
        examples, settings.safety_share, settings.seed, contrasts
    )
    model.train()
    frozen: list[str] = []
    guards: list[Any] = []
    if band is not None and not lora:
        frozen = freeze_layers(model, *band, include_norms=settings.include_norms)
        guards = [frozen_params_guard(model)]
    config = sft_config(settings, len(mixed), layers, band, lora=lora)
    result = train_sft(
        model,
        tokenizer,
        mixed,
        config,
        callbacks=[*guards, *callbacks],
        checkpoint_dir=checkpoint_dir,
        save_steps=settings.save_steps,
        resume=resume,
    )
    verified = (
        [] if band is None else verify_frozen(result.model.state_dict(), before, band)
    )
    return SPPFTRun(
        result.model,
        tokenizer,
        result,
        frozen,
        verified,
        len(mixed),
        safety,
        len(contrasts),
        lora,
    )


def sft_config(
    settings: SPPFTSettings,
    examples: int,
    layers: int,
    band: LayerRange | None,
    *,
    lora: bool,
) -> SFTConfig:
    """Map the settings onto the trainer's; epochs become steps per process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    steps = max(
        1, math.ceil(settings.epochs * examples / (settings.batch_size * world))
    )
    outside = tuple(
        i for i in range(layers) if band is None or not band.first <= i <= band.last
    )
    return SFTConfig(
        steps=min(steps, settings.max_steps or steps),
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        max_length=settings.max_length,
        lora_rank=settings.lora_rank if lora else 0,
        lora_alpha=2 * settings.lora_rank,
        lora_layers=outside if lora else None,
        dtype=settings.dtype,
        seed=settings.seed,
    )


def verify_frozen(
    after: Mapping[str, torch.Tensor],
    before: Mapping[str, torch.Tensor],
    band: LayerRange,
) -> list[str]:
    """Raise unless every attention/MLP tensor of ``band`` is bit-identical.

    Names are compared after dropping PEFT prefixes, so a merged LoRA model
    compares with its base.
    """
    import torch

    plain = {_plain(k): v for k, v in after.items()}
    keys = block_keys(before, band)
    moved = [
        k for k in keys if not torch.equal(plain[_plain(k)].cpu(), before[k].cpu())
    ]
    if moved or not keys:
        raise HarnessError(
            f"SPPFT: frozen band {list(band)} changed during training: {moved[:5]}"
            if moved
            else f"SPPFT: no attention/MLP tensors found in band {list(band)}"
        )
    return keys


def _plain(key: str) -> str:
    for prefix in ("base_model.model.",):
        key = key.removeprefix(prefix)
    return key.replace(".base_layer.", ".")


def main(argv: Sequence[str] | None = None) -> int:
    """Train SPPFT in this process (one of several under ``accelerate launch``)."""
    parser = argparse.ArgumentParser(prog="python -m harness.repair")
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--band", required=True, help="A,B inclusive, 0-based")
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    args = parser.parse_args(argv)
    first, last = (int(x) for x in args.band.split(","))
    settings = SPPFTSettings(
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        warmup_steps=args.warmup_steps,
        max_steps=args.max_steps,
        safety_share=0.0,
    )
    data = load_repair_data(args.data)
    out = Path(args.out)
    run = train_sppft(
        args.baseline,
        data.train,
        LayerRange(first, last),
        settings,
        checkpoint_dir=out / "checkpoints",
    )
    rank = int(os.environ.get("RANK", "0"))
    record = {"rank": rank, "world": int(os.environ.get("WORLD_SIZE", "1"))}
    record |= {"steps": run.sft.steps, "verified": len(run.verified)}
    (out / f"rank{rank}.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
    if rank == 0:
        run.model.save_pretrained(out / "model", safe_serialization=True)
        run.tokenizer.save_pretrained(out / "model")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
