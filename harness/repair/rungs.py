"""The rungs as generators of candidate *tiers*, cheapest first.

A tier is a list of proposals the ladder builds, checks for utility and
judges together; the ladder stops at the first tier with a passing candidate
and keeps, within it, the one that loses the least utility. The band revert's
tiers are bands (narrowest first, each with its λ sweep), the interpolation's
single λ values (largest first), the safety vector's and the direction edit's
scales (smallest first), the projection's shares of matrices, the sparse
restore's sparsities, the patch's refusal counts and SPPFT's safety shares
(smallest first).

Work shared by a rung's tiers (the sparse scores, the refusal directions,
the projection ranking) is done when the first candidate is built, so a
resumed run that has every candidate of a rung does none of it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness.repair import demonstrations, direction, patch, sparse
from harness.repair.bands import widening_bands
from harness.repair.context import Built, Context, Proposal, Rung, Tier
from harness.repair.records import Candidate
from harness.repair.settings import RUNG_NAMES
from harness.repair.sppft import train_sppft
from harness.repair.vectors import (
    add_safety_vector,
    apply_projections,
    rank_projections,
)
from harness.repair.weights import State, block_keys, mix, save_candidate


def band_revert(ctx: Context) -> Iterator[Tier]:
    """Put the baseline's attention/MLP back in a band, λ-mixed."""
    bands = widening_bands(ctx.band, ctx.drift, ctx.settings.max_bands)
    for band in bands:
        keys = block_keys(ctx.pair.finetuned, band)
        yield [
            Proposal({"band": list(band), "lambda": lam}, _mixer(ctx, lam, keys))
            for lam in ctx.settings.band_lambdas
        ]


def interpolation(ctx: Context) -> Iterator[Tier]:
    """Every parameter (1−λ)·θ_base + λ·θ_ft, largest λ first."""
    for lam in sorted(ctx.settings.interpolation_lambdas, reverse=True):
        yield [Proposal({"lambda": lam}, _mixer(ctx, lam, None))]


def _mixer(ctx: Context, lam: float, keys: list[str] | None) -> Callable[[Path], Built]:
    return _writer(ctx, lambda: mix(ctx.pair, lam, keys))


def _writer(
    ctx: Context, state: Callable[[], State], params: dict[str, Any] | None = None
) -> Callable[[Path], Built]:
    def build(path: Path) -> Built:
        save_candidate(ctx.pair, state(), path)
        return Built(ctx.pair.model, dict(params or {}))

    return build


def safety_vector(ctx: Context) -> Iterator[Tier]:
    """θ_ft + s·(θ_aligned − θ_base), smallest scale first (RESTA); then the
    gate chooses the scale: bisection between the largest scale still unsafe
    and the next, too strong one."""

    def proposal(scale: float) -> Proposal:
        def state() -> State:
            pair = ctx.pair
            return add_safety_vector(
                pair.finetuned, pair.baseline, ctx.base_state(), scale
            )

        return Proposal({"scale": scale}, _writer(ctx, state))

    for scale in sorted(ctx.settings.vector_scales):
        yield [proposal(scale)]
    for _ in range(ctx.settings.vector_bisections):
        bracket = scale_bracket(ctx.tried.get("vector", []), ctx.failing_unsafe)
        if bracket is None:
            return
        yield [proposal(round(sum(bracket) / 2, 6))]


def scale_bracket(
    tried: list[Candidate], failing_unsafe: bool
) -> tuple[float, float] | None:
    """The largest scale whose candidate was unsafe and the smallest larger one
    that was not (over-refusing, or over the utility margin): the scales
    between them are still worth judging. The failing checkpoint is scale 0,
    unsafe when it failed a harm-counting suite. ``None`` without such a pair."""
    unsafe = [
        c.params["scale"] for c in tried if c.verdict is not None and c.verdict.unsafe
    ]
    if failing_unsafe:
        unsafe.append(0.0)
    if not unsafe:
        return None
    low = max(unsafe)
    stronger = [
        c.params["scale"]
        for c in tried
        if c.params["scale"] > low
        and not c.passed
        and (c.verdict is not None or not c.utility_ok)
    ]
    return (low, min(stronger)) if stronger else None


def projection(ctx: Context) -> Iterator[Tier]:
    """Project the update of the least aligned matrices onto aligned − base."""
    pair = ctx.pair

    @functools.cache
    def ranked() -> Any:
        return rank_projections(
            pair.finetuned, pair.baseline, ctx.base_state(), len(ctx.drift)
        )

    for share in sorted(ctx.settings.project_shares):

        def build(path: Path, share: float = share) -> Built:
            found = ranked()
            state, keys = apply_projections(
                pair.finetuned, pair.baseline, ctx.base_state(), found, share
            )
            save_candidate(pair, state, path)
            cut = found[len(keys) - 1].similarity if keys else None
            params = {"matrices": len(keys), "of": len(found), "max_cosine": cut}
            return Built(pair.model, params)

        yield [Proposal({"share": share}, build)]


def refusal_direction(ctx: Context) -> Iterator[Tier]:
    """Restore the baseline's refusal direction where the subject lost it."""
    settings = ctx.settings
    harmful, harmless = direction.prompt_sets(settings.direction_prompts, settings.seed)
    prompts = harmful + harmless

    @functools.cache
    def found() -> direction.Directions:
        return direction.find_directions(
            ctx.pair, prompts, len(harmful), settings.direction_layers
        )

    for scale in sorted(settings.direction_scales):

        def build(path: Path, scale: float = scale) -> Built:
            dirs = found()
            state = direction.restore(
                ctx.pair, dirs, prompts, scale=scale, ridge=settings.direction_ridge
            )
            save_candidate(ctx.pair, state, path)
            # the edited blocks' separation, as a share of the baseline's
            ratios = [dirs.ratios[i] for i in dirs.lost]
            params = {"layers": dirs.lost, "separation_ratio": ratios}
            return Built(ctx.pair.model, params)

        yield [Proposal({"scale": scale}, build)]


def sparse_restore(ctx: Context) -> Iterator[Tier]:
    """Reset the top share of weights by ``|g ⊙ Δθ|``, roll back by utility."""
    harm = sparse.harmful_pairs(ctx.settings.harmful_pairs, ctx.settings.seed)

    @functools.cache
    def importance() -> State:
        return sparse.scores(ctx.pair, harm, len(ctx.drift))

    for share in sorted(ctx.settings.sparsities):

        def build(path: Path, share: float = share) -> Built:
            masks = sparse.reset_masks(importance(), share)
            state, rollback = sparse.roll_back(
                ctx.pair,
                masks,
                importance(),
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


def patch_finetune(ctx: Context) -> Iterator[Tier]:
    """Fine-tune the failing checkpoint on a few of the baseline's refusals."""
    data = ctx.data
    assert data is not None  # the ladder skips this rung without data
    settings, seed = ctx.settings.patch, ctx.settings.seed
    largest = max(settings.refusal_counts)

    @functools.cache
    def own_answers() -> tuple[list[Any], list[Any]]:
        """The baseline's refusals and contrasts, from one load of its weights."""
        baseline, tokenizer = ctx.pair.load(ctx.pair.baseline), ctx.pair.tokenizer
        tokens = settings.answer_tokens
        return (
            demonstrations.baseline_refusals(
                baseline, tokenizer, largest, tokens, seed
            ),
            demonstrations.baseline_contrasts(
                baseline, tokenizer, settings.contrast_examples, tokens, seed
            ),
        )

    def refusals() -> list[Any]:
        return own_answers()[0]

    def contrasts() -> list[Any]:
        return own_answers()[1]

    for count in sorted(settings.refusal_counts):

        def build(path: Path, count: int = count) -> Built:
            examples = patch.patch_mix(
                refusals()[:count], data.train, settings, seed, contrasts()
            )
            key = _digest(
                {
                    "patch": settings.as_dict(),
                    "n": count,
                    "seed": seed,
                    "lora_rank": ctx.lora_rank,
                }
            )
            checkpoints = ctx.training_checkpoints(key)
            run = patch.train_patch(
                ctx.pair,
                examples,
                settings,
                seed=seed,
                checkpoint_dir=checkpoints,
                lora_rank=ctx.lora_rank,
            )
            _save_trained(run.model, ctx.pair.tokenizer, path)
            shutil.rmtree(checkpoints, ignore_errors=True)
            params = {
                "refusals_used": len(refusals()[:count]),
                "contrasts_used": len(contrasts()),
                "examples": len(examples),
                "steps": run.steps,
                "train_s": round(run.seconds, 2),
                "final_loss": run.losses[-1] if run.losses else None,
                "lora_rank": ctx.lora_rank,
            }
            return Built(run.model, params)

        yield [Proposal({"refusals": count, "seed": seed}, build)]


def sppft(ctx: Context) -> Iterator[Tier]:
    """SPPFT on the user's data with the band frozen (paper §4), per safety share."""
    data = ctx.data
    assert data is not None  # the ladder skips this rung without data
    for share in sorted(ctx.settings.sppft_safety_shares):
        settings = ctx.settings.sppft.model_copy(update={"safety_share": share})

        def build(path: Path, settings: Any = settings) -> Built:
            checkpoints = ctx.training_checkpoints(_sppft_key(ctx, settings.as_dict()))
            run = train_sppft(
                ctx.baseline_ref,
                data.train,
                ctx.band,
                settings,
                checkpoint_dir=checkpoints,
                lora=ctx.lora_rank > 0,
            )
            _save_trained(run.model, run.tokenizer, path)
            shutil.rmtree(checkpoints, ignore_errors=True)
            params = {
                "steps": run.sft.steps,
                "train_s": round(run.sft.seconds, 2),
                "examples": run.examples,
                "safety_examples": run.safety_examples,
                "contrasts_used": run.contrast_examples,
                "frozen_tensors_verified": len(run.verified),
                "final_loss": run.sft.losses[-1] if run.sft.losses else None,
            }
            return Built(run.model, params)

        # the tier's own parameter first; the mode SPPFT runs in, not the
        # setting (``None`` follows the checkpoint)
        params = {
            "safety_share": share,
            "band": list(ctx.band),
            **settings.as_dict(),
            "lora": ctx.lora_rank > 0,
        }
        yield [Proposal(params, build)]


def _save_trained(model: Any, tokenizer: Any, path: Path) -> None:
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)


def _sppft_key(ctx: Context, settings: dict[str, Any]) -> str:
    """A digest of what SPPFT trains on: resume only the same run."""
    return _digest(
        {
            "baseline": ctx.baseline_fingerprint,
            "data": ctx.data.sha256 if ctx.data else None,
            "band": list(ctx.band),
            "lora": ctx.lora_rank > 0,
            "settings": settings,
        }
    )


def _digest(material: dict[str, Any]) -> str:
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


RUNGS: dict[str, Rung] = {
    "band": band_revert,
    "interpolate": interpolation,
    "vector": safety_vector,
    "project": projection,
    "direction": refusal_direction,
    "sparse": sparse_restore,
    "patch": patch_finetune,
    "sppft": sppft,
}
assert tuple(RUNGS) == RUNG_NAMES, "the ladder's order lives in settings.RUNG_NAMES"
