"""Scale the attention and MLP weights of a layer range, in place (paper §3.4.1).

The weights of q, k, v, o, gate, up and down of every block in ``[first, last]``
(inclusive) are multiplied by ``alpha``; norms, biases, embeddings and the LM
head are left untouched. Phi-3's fused ``qkv_proj`` and ``gate_up_proj`` are
scaled as whole tensors. ``o_proj`` can be left out with
``include_o_proj=False``, which reproduces the OpenReview version of the
authors' script, where the scaled ``o_proj`` never reached the model
(docs/localization.md, note 4).

No copy of the model is made: only the tensors that are scaled are cloned, and
copied back bit-for-bit when the context exits (also on error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from harness.errors import CheckpointError
from harness.layers import check_range, decoder_layers

if TYPE_CHECKING:
    import torch

#: Projection names per architecture family, relative to a decoder block.
ATTENTION_SPLIT = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
ATTENTION_FUSED = ("self_attn.qkv_proj",)  # Phi-3
MLP_SPLIT = ("mlp.gate_proj", "mlp.up_proj")
MLP_FUSED = ("mlp.gate_up_proj",)  # Phi-3
OUTPUT = "self_attn.o_proj"
DOWN = "mlp.down_proj"


def scaled_weight_names(layer: Any, *, include_o_proj: bool = True) -> list[str]:
    """Return the names of the weights to scale in one decoder block.

    Raises:
        CheckpointError: when the block has neither Llama/Mistral/Qwen2/Gemma
            nor Phi-3 projection names.
    """
    present = {name for name, _ in layer.named_modules()}
    attention = _pick(present, ATTENTION_SPLIT, ATTENTION_FUSED, "attention q/k/v")
    mlp = _pick(present, MLP_SPLIT, MLP_FUSED, "MLP gate/up")
    names = [*attention, *mlp]
    for required in (DOWN, *((OUTPUT,) if include_o_proj else ())):
        if required not in present:
            raise CheckpointError(f"{type(layer).__name__}: no {required} to scale")
        names.append(required)
    return [f"{name}.weight" for name in names]


def _pick(
    present: set[str], split: tuple[str, ...], fused: tuple[str, ...], what: str
) -> tuple[str, ...]:
    if all(n in present for n in split):
        return split
    if all(n in present for n in fused):
        return fused
    raise CheckpointError(
        f"cannot find the {what} projections to scale; known names: "
        f"{', '.join(split)} (Llama, Mistral, Qwen2, Gemma) or "
        f"{', '.join(fused)} (Phi-3)"
    )


def scale_targets(
    model: Any, first: int, last: int, *, include_o_proj: bool = True
) -> list[torch.Tensor]:
    """The weight tensors that scaling ``[first, last]`` multiplies."""
    layers = decoder_layers(model)
    check_range(first, last, len(layers))
    targets: dict[int, torch.Tensor] = {}
    for index in range(first, last + 1):
        params = dict(layers[index].named_parameters())
        for name in scaled_weight_names(layers[index], include_o_proj=include_o_proj):
            # A tensor shared between blocks must be scaled once, not twice.
            targets.setdefault(id(params[name]), params[name])
    return list(targets.values())


@contextmanager
def scaled_layers(
    model: Any,
    first: int,
    last: int,
    alpha: float,
    *,
    include_o_proj: bool = True,
) -> Iterator[None]:
    """Multiply the weights of blocks ``first..last`` by ``alpha`` inside the context.

    The original values are restored bit-exactly on exit: the scaled tensors
    (and only those) are cloned before scaling and copied back afterwards.
    """
    import torch

    targets = scale_targets(model, first, last, include_o_proj=include_o_proj)
    with torch.no_grad():
        originals = [t.detach().clone() for t in targets]
        try:
            for tensor in targets:
                tensor.mul_(alpha)
            yield
        finally:
            for tensor, original in zip(targets, originals, strict=True):
                tensor.copy_(original)
