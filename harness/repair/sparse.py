"""Rung c: reset the few fine-tuned weights that harmful prompts point at.

The score of a weight is ``|g ⊙ Δθ|``, with ``g`` the gradient of the loss of
harmful prompt → refusal pairs at the failing checkpoint and ``Δθ = θ_ft −
θ_base`` (first order, resetting it changes that loss by about ``−g·Δθ``; the
approach of arXiv 2504.09757). The top share of attention and MLP weights by
score go back to the baseline; then, block by block, resets are rolled back
where that lowers the utility loss and keeps at least half of the reset's gain
on the harmful pairs.

The harmful prompts are the zoo's *training* split (``harness/corpus/data``),
with the zoo's refusals; the harm suite's prompts (``suites/harm``) are never
used, so a repair cannot fit the gate's own test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.corpus import assign_refusals, harmful_prompts, refusals, sample
from harness.layers import LayerRange
from harness.prompts import PromptFormatter
from harness.repair.utility import response_loss
from harness.repair.weights import ModelPair, State, block_keys
from harness.training import SFTExample
from harness.training.examples import PadCollator, tokenize_examples

if TYPE_CHECKING:
    import torch

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def harmful_pairs(limit: int, seed: int = 0) -> list[SFTExample]:
    """Zoo training-split harmful prompts, each paired with a zoo refusal."""
    prompts = sample(harmful_prompts("train"), limit, seed)
    texts = assign_refusals(prompts, refusals(), seed)
    return [SFTExample(p.prompt, t) for p, t in zip(prompts, texts, strict=True)]


def scores(pair: ModelPair, pairs: Sequence[SFTExample], layers: int) -> State:
    """``|g ⊙ Δθ|`` for every attention and MLP tensor of the decoder blocks."""
    import torch

    model = pair.load(pair.finetuned)
    model.zero_grad(set_to_none=True)
    items = tokenize_examples(PromptFormatter(pair.tokenizer), pairs, 256)
    collate = PadCollator(pair.tokenizer.pad_token_id or 0)
    with torch.enable_grad():
        for start in range(0, len(items), 8):
            batch = collate([i.features() for i in items[start : start + 8]])
            share = len(items[start : start + 8]) / len(items)
            (model(**batch).loss * share).backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    keys = block_keys(pair.finetuned, LayerRange(0, layers - 1))
    result = {
        key: (grads[key] * (pair.finetuned[key] - pair.baseline[key])).abs()
        for key in keys
        if key in grads
    }
    model.zero_grad(set_to_none=True)
    return result


def reset_masks(importance: State, share: float) -> dict[str, torch.Tensor]:
    """Boolean masks of the top ``share`` of weights by score, over all tensors."""
    import torch

    flat = torch.cat([s.flatten() for s in importance.values()])
    count = max(1, int(share * flat.numel()))
    threshold = torch.topk(flat, count, sorted=False).values.min()
    return {key: s >= threshold for key, s in importance.items()}


def apply_resets(pair: ModelPair, masks: dict[str, torch.Tensor]) -> State:
    """The fine-tuned state with the masked weights put back to the baseline."""
    import torch

    state = dict(pair.finetuned)
    for key, mask in masks.items():
        state[key] = torch.where(mask, pair.baseline[key], pair.finetuned[key])
    return state


@dataclass
class Rollback:
    """What the utility rollback did."""

    layers: list[int]
    tried: int
    harm_loss: float
    harm_loss_failing: float


def roll_back(
    pair: ModelPair,
    masks: dict[str, torch.Tensor],
    importance: State,
    utility_loss: Callable[[Any], float],
    *,
    harm: Sequence[SFTExample],
    margin: float,
    limit: int,
) -> tuple[State, Rollback]:
    """Undo whole blocks of resets while they hurt utility (see the module doc)."""
    failing_harm = response_loss(pair.load(pair.finetuned), pair.tokenizer, harm)
    state = apply_resets(pair, masks)
    reset_harm = response_loss(pair.load(state), pair.tokenizer, harm)
    allowed = reset_harm + 0.5 * max(0.0, failing_harm - reset_harm)
    current = utility_loss(pair.load(state))
    undone: list[int] = []
    tried = 0
    for layer in _layers_by_mass(masks, importance):
        if current <= margin or tried >= limit:
            break
        tried += 1
        trial = dict(state)
        for key in masks:
            if _layer_of(key) == layer:
                trial[key] = pair.finetuned[key]
        loss = utility_loss(pair.load(trial))
        harm_loss = response_loss(pair.model, pair.tokenizer, harm)
        if loss < current and harm_loss <= allowed:
            state, current = trial, loss
            undone.append(layer)
    final_harm = response_loss(pair.load(state), pair.tokenizer, harm)
    return state, Rollback(sorted(undone), tried, final_harm, failing_harm)


def _layer_of(key: str) -> int:
    match = _LAYER.search(key)
    return int(match[1]) if match else -1


def _layers_by_mass(masks: dict[str, torch.Tensor], importance: State) -> list[int]:
    """Blocks with resets, least safety score reset first (cheapest to undo)."""
    mass: dict[int, float] = {}
    for key, mask in masks.items():
        if bool(mask.any()):
            layer = _layer_of(key)
            mass[layer] = mass.get(layer, 0.0) + float(importance[key][mask].sum())
    return sorted(mass, key=lambda layer: mass[layer])
