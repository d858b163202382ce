"""The four rungs as generators of candidate *tiers*, cheapest first.

A tier is a list of proposals the ladder builds, checks for utility and
judges together; the ladder stops at the first tier with a passing candidate
and keeps, within it, the one that loses the least utility. So the band
revert's tiers are bands (narrowest first, each with its λ sweep), the
interpolation's are single λ values (largest first: "keep the largest λ that
passes"), the sparse restore's are sparsities (smallest first) and SPPFT is
one tier.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.repair.bands import widening_bands
from harness.repair.weights import block_keys, mix, save_candidate

if TYPE_CHECKING:
    from harness.repair.ladder import Context


@dataclass
class Built:
    """A written candidate: the model in memory (for the utility check) and notes."""

    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Proposal:
    """One candidate to build: its parameters and how to write it to a directory."""

    params: dict[str, Any]
    build: Callable[[Path], Built]


Tier = list[Proposal]
Rung = Callable[["Context"], Iterator[Tier]]


def band_revert(ctx: Context) -> Iterator[Tier]:
    """Rung a: put the baseline's attention/MLP back in a band, λ-mixed."""
    bands = widening_bands(ctx.band, ctx.drift, ctx.settings.max_bands)
    for band in bands:
        keys = block_keys(ctx.pair.finetuned, band)
        yield [
            Proposal({"band": list(band), "lambda": lam}, _mixer(ctx, lam, keys))
            for lam in ctx.settings.band_lambdas
        ]


def interpolation(ctx: Context) -> Iterator[Tier]:
    """Rung b: every parameter (1−λ)·θ_base + λ·θ_ft, largest λ first."""
    for lam in sorted(ctx.settings.interpolation_lambdas, reverse=True):
        yield [Proposal({"lambda": lam}, _mixer(ctx, lam, None))]


def _mixer(ctx: Context, lam: float, keys: list[str] | None) -> Callable[[Path], Built]:
    def build(path: Path) -> Built:
        save_candidate(ctx.pair, mix(ctx.pair, lam, keys), path)
        return Built(ctx.pair.model)

    return build


def sparse_restore(ctx: Context) -> Iterator[Tier]:
    """Rung c: reset the top share of weights by ``|g ⊙ Δθ|``, roll back by utility."""
    from harness.repair import sparse

    harm = sparse.harmful_pairs(ctx.settings.harmful_pairs, ctx.settings.seed)
    importance = sparse.scores(ctx.pair, harm, len(ctx.drift))
    for share in sorted(ctx.settings.sparsities):

        def build(path: Path, share: float = share) -> Built:
            masks = sparse.reset_masks(importance, share)
            state, rollback = sparse.roll_back(
                ctx.pair,
                masks,
                importance,
                lambda model: ctx.utility(model).loss,
                harm=harm,
                margin=ctx.margin,
                limit=ctx.settings.rollback_limit,
            )
            save_candidate(ctx.pair, state, path)
            params = {
                "rolled_back_layers": rollback.layers,
                "rollbacks_tried": rollback.tried,
                "harm_pair_loss": round(rollback.harm_loss, 4),
                "harm_pair_loss_failing": round(rollback.harm_loss_failing, 4),
                "harmful_pairs": len(harm),
            }
            return Built(ctx.pair.model, params)

        yield [Proposal({"sparsity": share}, build)]


def sppft(ctx: Context) -> Iterator[Tier]:
    """Rung d: SPPFT on the user's data with the band frozen (paper §4)."""
    from harness.repair.sppft import train_sppft

    data = ctx.data
    assert data is not None  # the ladder skips this rung without data
    settings = ctx.settings.sppft
    checkpoints = ctx.sppft_checkpoints(_sppft_key(ctx))

    def build(path: Path) -> Built:
        run = train_sppft(
            ctx.baseline_ref,
            data.train,
            ctx.band,
            settings,
            checkpoint_dir=checkpoints,
            lora=ctx.lora,
        )
        run.model.save_pretrained(path, safe_serialization=True)
        run.tokenizer.save_pretrained(path)
        shutil.rmtree(checkpoints, ignore_errors=True)
        params = {
            "steps": run.sft.steps,
            "train_s": round(run.sft.seconds, 2),
            "examples": run.examples,
            "safety_examples": run.safety_examples,
            "frozen_tensors_verified": len(run.verified),
            "final_loss": run.sft.losses[-1] if run.sft.losses else None,
        }
        return Built(run.model, params)

    # the mode SPPFT runs in, not the setting (``None`` follows the checkpoint)
    params = {"band": list(ctx.band), **settings.as_dict(), "lora": ctx.lora}
    yield [Proposal(params, build)]


def _sppft_key(ctx: Context) -> str:
    """A digest of what SPPFT trains on: resume only the same run."""
    material = {
        "baseline": ctx.baseline_fingerprint,
        "data": ctx.data.sha256 if ctx.data else None,
        "band": list(ctx.band),
        "lora": ctx.lora,
        "settings": ctx.settings.sppft.as_dict(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[
        :12
    ]


RUNGS: dict[str, Rung] = {
    "band": band_revert,
    "interpolate": interpolation,
    "sparse": sparse_restore,
    "sppft": sppft,
}
