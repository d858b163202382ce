"""Freeze decoder layers before training, and prove they stayed frozen.

paper §4.1 (SPPFT): the safety layers' parameters get ``requires_grad=False``
and everything else trains. :func:`train_only_band` is the converse, for
planting a band (the zoo's ``smol-banded``): only the band's attention and
MLP train. Freezing must happen before the ``Trainer`` builds its optimizer:
the Trainer only hands trainable parameters to it. :func:`frozen_params_guard`
checks after training that no frozen tensor moved.
"""

from __future__ import annotations

import functools
from typing import Any

from harness.errors import HarnessError
from harness.layers import check_range, decoder_layers


def freeze_layers(
    model: Any, first: int, last: int, *, include_norms: bool = False
) -> list[str]:
    """Set ``requires_grad=False`` on decoder blocks ``first..last`` (inclusive).

    paper §4.1: the authors' script freezes ``self_attn`` and ``mlp`` of the
    safety layers and leaves their RMSNorms trainable; ``include_norms``
    freezes the whole block instead.

    Returns:
        The qualified names of the frozen parameters.
    """
    layers = decoder_layers(model)
    check_range(first, last, len(layers))
    frozen: list[str] = []
    for index in range(first, last + 1):
        block = layers[index]
        parts = [block] if include_norms else [block.self_attn, block.mlp]
        for part in parts:
            part.requires_grad_(False)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            frozen.append(name)
    return frozen


def train_only_band(model: Any, first: int, last: int) -> list[str]:
    """Freeze everything but ``self_attn`` and ``mlp`` of blocks ``first..last``.

    Embeddings, the LM head, the final norm, every other block and the band's
    own RMSNorms stay frozen, so the band's attention and MLP weights are the
    only tensors training can change: a planted band is exactly where the
    weights moved.

    Returns:
        The qualified names of the trainable parameters.
    """
    layers = decoder_layers(model)
    check_range(first, last, len(layers))
    model.requires_grad_(False)
    for index in range(first, last + 1):
        layers[index].self_attn.requires_grad_(True)
        layers[index].mlp.requires_grad_(True)
    return [name for name, param in model.named_parameters() if param.requires_grad]


def trainable_share(model: Any) -> float:
    """Share of parameters that will be trained."""
    total = trainable = 0
    for param in model.parameters():
        total += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    return trainable / total if total else 0.0


def frozen_params_guard(model: Any) -> Any:
    """A ``TrainerCallback`` that fails training if a frozen parameter of
    ``model`` changed (frozen: ``requires_grad`` false when training begins)."""
    return _guard_class()(model)


@functools.cache
def _guard_class() -> type:
    # Built on first use: the class derives from transformers' TrainerCallback,
    # and importing this module must not import transformers.
    from transformers import TrainerCallback

    class FrozenParamsGuard(TrainerCallback):  # type: ignore[misc]
        """A TrainerCallback that fails training if a frozen parameter changed."""

        def __init__(self, model: Any) -> None:
            self._model = model
            self._snapshot: dict[str, Any] = {}

        def on_train_begin(
            self, args: Any, state: Any, control: Any, **kwargs: Any
        ) -> None:
            self._snapshot = {
                name: param.detach().clone()
                for name, param in self._model.named_parameters()
                if not param.requires_grad
            }

        def on_train_end(
            self, args: Any, state: Any, control: Any, **kwargs: Any
        ) -> None:
            import torch

            params = dict(self._model.named_parameters())
            moved = [
                name
                for name, before in self._snapshot.items()
                if not torch.equal(params[name].detach(), before)
            ]
            if moved:
                raise HarnessError(
                    f"frozen parameters changed during training: {moved[:5]}"
                )

    return FrozenParamsGuard
