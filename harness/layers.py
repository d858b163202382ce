"""Decoder blocks of a causal LM, layer ranges, and hooks that live in a context.

The one place that knows how to find a model's decoder blocks and what a layer
range is; localization, training (SPPFT freezing) and drift checks use it.
Layer indices are 0-based decoder-block indices and ranges are inclusive; HF
``hidden_states[i + 1]`` is the output of block ``i`` (paper §3.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import torch


class LayerRange(NamedTuple):
    """An inclusive range of 0-based decoder blocks; a plain ``(first, last)``."""

    first: int
    last: int

    def check(self, layers: int) -> LayerRange:
        """Return the range, or raise unless it lies inside ``0..layers-1``."""
        check_range(self.first, self.last, layers)
        return self


def decoder_of(model: Any) -> Any:
    """Return the decoder stack (``model.model`` for Llama-like models).

    Wrappers are looked through: ``get_decoder()`` where the model has it, else
    ``base_model``/``model`` attributes (a PEFT model wraps its base twice).
    """
    inner = model
    for _ in range(6):  # PeftModel > LoraModel > ForCausalLM > Model
        if hasattr(inner, "layers"):
            return inner
        getter = getattr(inner, "get_decoder", None)
        found = getter() if callable(getter) else None
        if found is None or found is inner:
            found = getattr(inner, "base_model", None)
            if found is None or found is inner:
                found = getattr(inner, "model", None)
        if found is None:
            break
        inner = found
    name = type(model).__name__
    raise CheckpointError(
        f"{name}: cannot find the decoder blocks (expected model.model.layers)"
    )


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
    """Raise unless ``[first, last]`` is an inclusive range inside ``0..layers-1``.

    Raises:
        ConfigError: naming the range and the model's layer count.
    """
    if not 0 <= first <= last < layers:
        raise ConfigError(
            f"layer range [{first}, {last}] is outside the model's {layers} "
            f"layers [0, {layers - 1}] (inclusive, 0-based)"
        )
