"""Find the decoder blocks of a causal LM, and hooks that exist only in a context.

Layer indices are 0-based decoder-block indices; HF ``hidden_states[i + 1]`` is
the output of block ``i`` (paper §3.2, SPEC §1.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from harness.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import torch


def decoder_of(model: Any) -> Any:
    """Return the decoder stack (``model.model`` for Llama-like models)."""
    getter = getattr(model, "get_decoder", None)
    decoder = getter() if callable(getter) else getattr(model, "model", None)
    if decoder is None or not hasattr(decoder, "layers"):
        name = type(model).__name__
        raise CheckpointError(
            f"{name}: cannot find the decoder blocks (expected model.model.layers)"
        )
    return decoder


def decoder_layers(model: Any) -> Any:
    """Return the ``ModuleList`` of decoder blocks."""
    return decoder_of(model).layers


def num_layers(model: Any) -> int:
    """Number of decoder blocks ``K``."""
    return len(decoder_layers(model))


def final_norm(model: Any) -> Any:
    """Return the norm applied after the last block (HF's last hidden state)."""
    norm = getattr(decoder_of(model), "norm", None)
    if norm is None:
        raise CheckpointError(f"{type(model).__name__}: no final norm (model.norm)")
    return norm


def first_tensor(output: Any) -> torch.Tensor:
    """The hidden states in a block's output (a tensor, or a tuple that starts so)."""
    if isinstance(output, tuple | list):
        return first_tensor(output[0])
    return output  # type: ignore[no-any-return]


@contextmanager
def forward_hooks(hooks: list[tuple[Any, Any]]) -> Iterator[None]:
    """Register ``(module, hook)`` forward hooks; remove them all on exit."""
    handles = []
    try:
        for module, hook in hooks:
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def check_range(first: int, last: int, layers: int) -> None:
    """Raise unless ``[first, last]`` is an inclusive range inside ``0..layers-1``."""
    if not 0 <= first <= last < layers:
        raise ConfigError(
            f"layer range [{first}, {last}] is not inside [0, {layers - 1}] "
            "(inclusive, 0-based)"
        )
