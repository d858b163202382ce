"""The safety vector (aligned − unaligned base) and what the rungs do with it.

Two rungs need the aligned baseline's unaligned base:

* **vector addition** (RESTA, arXiv 2402.11746): ``θ = θ_ft + s·(θ_aligned −
  θ_base)`` on every floating tensor, the scale ``s`` chosen by the gate;
* **subspace projection** (Safe LoRA, arXiv 2405.16833): each attention/MLP
  matrix's update ``ΔW = W_ft − W_aligned`` is replaced by ``C·ΔW`` with
  ``C = V·Vᵀ / ‖V‖_F`` and ``V = W_aligned − W_base``, on the matrices whose
  update points least along ``V`` (lowest cosine of ``ΔW`` and ``C·ΔW``)
  first. A LoRA update is its merged dense delta here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.layers import LayerRange
from harness.repair.weights import State, block_keys

if TYPE_CHECKING:
    import torch


def add_safety_vector(
    finetuned: Mapping[str, torch.Tensor],
    aligned: Mapping[str, torch.Tensor],
    base: Mapping[str, torch.Tensor],
    scale: float,
) -> State:
    """``θ_ft + scale·(θ_aligned − θ_base)`` on every floating tensor."""
    state = dict(finetuned)
    for key, tensor in finetuned.items():
        if tensor.is_floating_point():
            state[key] = tensor + scale * (aligned[key] - base[key])
    return state


@dataclass(frozen=True)
class Projection:
    """How well one matrix's update fits the safety subspace."""

    key: str
    similarity: float


def projected(
    finetuned: torch.Tensor, aligned: torch.Tensor, base: torch.Tensor
) -> torch.Tensor | None:
    """``W_aligned + C·ΔW`` (``None`` where the safety vector is zero)."""
    import torch

    v = aligned - base
    norm = float(torch.linalg.matrix_norm(v))
    if norm == 0.0:
        return None
    return aligned + v @ (v.T @ (finetuned - aligned)) / norm  # C·ΔW, C not formed


def rank_projections(
    finetuned: Mapping[str, torch.Tensor],
    aligned: Mapping[str, torch.Tensor],
    base: Mapping[str, torch.Tensor],
    layers: int,
) -> list[Projection]:
    """Every block matrix with its cosine of ``ΔW`` and ``C·ΔW``, lowest first."""
    import torch

    found = []
    for key in block_keys(finetuned, LayerRange(0, layers - 1)):
        if finetuned[key].dim() != 2 or not finetuned[key].is_floating_point():
            continue
        moved = projected(finetuned[key], aligned[key], base[key])
        if moved is None:
            continue
        delta = (finetuned[key] - aligned[key]).flatten()
        similarity = torch.nn.functional.cosine_similarity(
            delta, (moved - aligned[key]).flatten(), dim=0
        )
        found.append(Projection(key, float(similarity)))
    return sorted(found, key=lambda p: p.similarity)


def apply_projections(
    finetuned: Mapping[str, torch.Tensor],
    aligned: Mapping[str, torch.Tensor],
    base: Mapping[str, torch.Tensor],
    ranked: list[Projection],
    share: float,
) -> tuple[State, list[str]]:
    """The fine-tuned state with the first ``share`` of ``ranked`` projected."""
    chosen = [p.key for p in ranked[: round(share * len(ranked))]]
    state = dict(finetuned)
    for key in chosen:
        moved = projected(finetuned[key], aligned[key], base[key])
        if moved is not None:
            state[key] = moved
    return state, chosen
