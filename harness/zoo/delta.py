"""Compact weight deltas: what a fine-tune changed, small enough to ship.

A full fine-tune changes every matrix of the model. :func:`compress_delta`
keeps, for each 2-D weight, the ``rank`` leading singular directions of the
difference (tuned − parent) as two factors, ``up`` (out × r) and ``down``
(r × in), each scaled by the square root of the singular values; 1-D tensors
(the RMSNorm weights) are kept exactly, as the tuned values. A tied LM head is
the embedding matrix and is stored once, like the checkpoint stores it.
:func:`apply_delta` adds the products back in fp32.

Only tensors are handled here; reading and writing checkpoint directories is
:mod:`harness.zoo.shipped`'s part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING

from harness.errors import CheckpointError

if TYPE_CHECKING:
    import torch

#: Bump when the meaning of the stored tensors changes.
DELTA_FORMAT = 1
UP, DOWN, VALUE = ".up", ".down", ".value"
#: Factor dtype: the deltas' singular vectors, scaled, sit well inside
#: fp16's range, where fp16 keeps three more mantissa bits than bf16.
FACTOR_DTYPE = "float16"


def compress_delta(
    parent: Mapping[str, torch.Tensor],
    tuned: Mapping[str, torch.Tensor],
    rank: int,
) -> dict[str, torch.Tensor]:
    """Return the rank-``rank`` factors of ``tuned − parent``, tensor by tensor.

    Tensors that did not change are left out. A matrix whose rank is at most
    ``rank`` anyway is factored exactly (up to fp16 rounding).

    Raises:
        CheckpointError: the two state dicts differ in names or shapes.
    """
    _check_same_layout(parent, tuned)
    delta: dict[str, torch.Tensor] = {}
    for name in sorted(tuned):
        difference = tuned[name].float() - parent[name].float()
        if not bool(difference.any()):
            continue
        if difference.ndim == 2:
            delta.update(_factor(name, difference, rank))
        else:
            delta[name + VALUE] = tuned[name].float().contiguous()
    return delta


def _factor(name: str, difference: torch.Tensor, rank: int) -> dict[str, torch.Tensor]:
    import torch

    u, s, vh = torch.linalg.svd(difference, full_matrices=False)
    kept = min(rank, s.numel())
    root = s[:kept].sqrt()
    dtype = getattr(torch, FACTOR_DTYPE)
    return {
        name + UP: (u[:, :kept] * root).to(dtype).contiguous(),
        name + DOWN: (root[:, None] * vh[:kept]).to(dtype).contiguous(),
    }


def apply_delta(
    state: MutableMapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor]
) -> None:
    """Add ``delta`` (from :func:`compress_delta`) to ``state`` in place, in fp32.

    Raises:
        CheckpointError: the delta names a tensor ``state`` lacks, or a factor
            does not fit its shape.
    """
    for key in sorted(delta):
        if key.endswith(DOWN):
            continue
        if key.endswith(VALUE):
            name = key.removesuffix(VALUE)
            _target(state, name, delta[key].shape)
            state[name] = delta[key].float().clone()
            continue
        name = key.removesuffix(UP)
        up, down = delta[key].float(), delta[name + DOWN].float()
        target = _target(state, name, (up.shape[0], down.shape[1]))
        state[name] = target.float() + up @ down


def _target(
    state: Mapping[str, torch.Tensor], name: str, shape: tuple[int, ...]
) -> torch.Tensor:
    if name not in state:
        raise CheckpointError(f"the delta changes {name!r}, which the model lacks")
    if tuple(state[name].shape) != tuple(shape):
        raise CheckpointError(
            f"the delta of {name!r} has shape {tuple(shape)}, the model's is "
            f"{tuple(state[name].shape)}"
        )
    return state[name]


def _check_same_layout(
    parent: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor]
) -> None:
    if set(parent) != set(tuned):
        odd = sorted(set(parent) ^ set(tuned))[:5]
        raise CheckpointError(f"the two checkpoints hold different tensors: {odd}")
    for name, tensor in tuned.items():
        if tensor.shape != parent[name].shape:
            raise CheckpointError(f"{name!r} changed shape: not a fine-tune")


def delta_bytes(delta: Mapping[str, torch.Tensor]) -> int:
    """The bytes the tensors of ``delta`` take (a file adds a small header)."""
    return sum(t.numel() * t.element_size() for t in delta.values())


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """A sha256 of every tensor's name, dtype, shape and bytes, in name order.

    Unlike a file's sha256 it does not depend on how safetensors lays the
    file out, so a reconstructed model can be compared with the one measured.
    """
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()
