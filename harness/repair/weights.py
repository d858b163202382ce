"""Weights in memory: the two models' state dicts, mixing them, saving a candidate.

Only the attention and MLP parameters of decoder blocks are mixed (paper §4.1:
what SPPFT freezes); embeddings, norms and the head keep the fine-tuned values
unless a rung says otherwise (whole-model interpolation mixes everything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.checkpoint import LoadOptions, load_checkpoint
from harness.errors import IncompatibleModelsError
from harness.layers import LayerRange
from harness.progress import quiet_library_bars

if TYPE_CHECKING:
    import torch

State = dict[str, "torch.Tensor"]
_BLOCK_PART = re.compile(r"(?:^|\.)layers\.(\d+)\.(self_attn|mlp)\.")


@dataclass
class ModelPair:
    """The failing model (loaded, fp32), a copy of its state and the baseline's."""

    model: Any
    tokenizer: Any
    finetuned: State
    baseline: State

    def load(self, state: Mapping[str, torch.Tensor]) -> Any:
        """Put ``state`` into the model (in place) and return the model."""
        self.model.load_state_dict(state, strict=True)
        return self.model


def load_pair(failing: str, baseline: str) -> ModelPair:
    """Load both checkpoints in fp32 on the CPU (an adapter is merged onto its base).

    Raises:
        IncompatibleModelsError: the parameter names or shapes differ.
    """
    options = LoadOptions(device="cpu", dtype="float32")
    model, tokenizer = load_checkpoint(failing, options)
    base_model, _ = load_checkpoint(baseline, options)
    finetuned = clone_state(model)  # the working model changes; this copy does not
    # The baseline's own tensors, only ever read: cloning them would hold a
    # second copy of the model until the module is dropped (6 GB at 1.5B).
    base = {k: v.detach() for k, v in base_model.state_dict().items()}
    del base_model
    check_same_layout(finetuned, base, (failing, baseline))
    return ModelPair(model, tokenizer, finetuned, base)


def load_state(ref: str, like: State) -> State:
    """The tensors of checkpoint ``ref`` (fp32, CPU), laid out as ``like``.

    Raises:
        IncompatibleModelsError: the parameter names or shapes differ.
    """
    model, _ = load_checkpoint(ref, LoadOptions(device="cpu", dtype="float32"))
    state = {k: v.detach() for k, v in model.state_dict().items()}
    del model
    check_same_layout(like, state, ("the baseline", ref))
    return state


def clone_state(model: Any) -> State:
    """A detached copy of every tensor of ``model``'s state dict."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def check_same_layout(a: State, b: State, names: tuple[str, str]) -> None:
    """Raise unless both state dicts have the same names and shapes."""
    if set(a) != set(b):
        only = sorted(set(a) ^ set(b))[:3]
        raise IncompatibleModelsError(
            f"{names[0]!r} and the baseline {names[1]!r} have different "
            f"parameters, e.g. {only}: a baseline must be the same model "
            "before fine-tuning"
        )
    for key, tensor in a.items():
        if tuple(tensor.shape) != tuple(b[key].shape):
            raise IncompatibleModelsError(
                f"{key}: shape {tuple(tensor.shape)} in {names[0]!r} vs "
                f"{tuple(b[key].shape)} in the baseline {names[1]!r}"
            )


def block_keys(state: Iterable[str], band: LayerRange) -> list[str]:
    """Names of the attention and MLP tensors of blocks ``band`` (inclusive)."""
    keys = []
    for key in state:
        match = _BLOCK_PART.search(key)
        if match and band.first <= int(match[1]) <= band.last:
            keys.append(key)
    return keys


def mix(pair: ModelPair, lam: float, keys: Iterable[str] | None = None) -> State:
    """θ = (1−λ)·θ_base + λ·θ_ft on ``keys`` (all tensors when ``None``).

    Tensors outside ``keys`` keep the fine-tuned values; integer buffers are
    never mixed.
    """
    state = dict(pair.finetuned)
    for key in pair.finetuned if keys is None else keys:
        ft, base = pair.finetuned[key], pair.baseline[key]
        if ft.is_floating_point():
            state[key] = base + lam * (ft - base)
    return state


def save_candidate(
    pair: ModelPair, state: Mapping[str, torch.Tensor], out: Path
) -> Path:
    """Write ``state`` as an HF checkpoint (safetensors + tokenizer) to ``out``."""
    model = pair.load(state)
    out.mkdir(parents=True, exist_ok=True)
    with quiet_library_bars():  # a "Writing model shards" bar per candidate
        model.save_pretrained(out, safe_serialization=True)
    pair.tokenizer.save_pretrained(out)
    return out
