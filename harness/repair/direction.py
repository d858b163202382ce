"""Rung: restore the refusal direction in the blocks where the subject lost it.

The baseline's refusal direction of block ``l`` is the difference of its mean
last-token outputs on harmful and on harmless prompts (Arditi et al. 2024);
``r̂_l`` is its unit vector. The subject *lost* it in the blocks where the
separation of harmful from harmless prompts along ``r̂_l`` fell most against
the baseline's. In each such block, lowest first, a rank-one edit of the MLP's
output matrix, ``W_down += s·r̂_l·kᵀ``, puts back what is missing: ``k`` is
fitted (ridge) so that ``kᵀx``, on each prompt's input ``x`` of that matrix,
matches the baseline's projection on ``r̂_l`` minus the subject's. The edit
reads the activations it changes, so each block is fitted after the edits
below it. A few forward passes over the prompts: seconds on small models.

The prompts are the zoo's training split (harmful, and plain benign
instructions), never a suite's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.corpus import benign_prompts, harmful_prompts, sample
from harness.layers import decoder_layers, first_tensor, forward_hooks
from harness.prompts import PromptFormatter
from harness.repair.weights import ModelPair, State

if TYPE_CHECKING:
    import torch


def prompt_sets(count: int, seed: int) -> tuple[list[str], list[str]]:
    """``count`` harmful and ``count`` harmless training prompts."""
    harmful = sample(harmful_prompts("train"), count, seed)
    harmless = sample(benign_prompts("train", ("plain",)), count, seed)
    return [p.prompt for p in harmful], [p.prompt for p in harmless]


@dataclass
class Capture:
    """``[n, layers, d]`` block outputs and ``[n, m]`` MLP-output inputs."""

    outputs: torch.Tensor
    down_inputs: torch.Tensor | None


def capture(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    layer: int | None = None,
    batch_size: int = 16,
) -> Capture:
    """Last-token block outputs (and the inputs of block ``layer``'s down_proj)."""
    import torch

    texts = PromptFormatter(tokenizer).prompts(list(prompts))
    blocks = decoder_layers(model)
    outputs: list[torch.Tensor] = []
    inputs: list[torch.Tensor] = []
    model.eval()
    for start in range(0, len(texts), batch_size):
        kept: dict[int, torch.Tensor] = {}
        hooks = [(block, _keeper(kept, i)) for i, block in enumerate(blocks)]
        if layer is not None:
            hooks.append((blocks[layer].mlp.down_proj, _input_keeper(kept)))
        with forward_hooks(hooks), torch.inference_mode():
            model(**_encode(tokenizer, texts[start : start + batch_size]))
        outputs.append(torch.stack([kept[i] for i in range(len(blocks))], dim=1))
        if layer is not None:
            inputs.append(kept[-1])
    return Capture(torch.cat(outputs), torch.cat(inputs) if inputs else None)


def _keeper(kept: dict[int, torch.Tensor], index: int) -> Any:
    def hook(module: Any, args: Any, output: Any) -> None:
        kept[index] = first_tensor(output)[:, -1, :].float().cpu()

    return hook


def _input_keeper(kept: dict[int, torch.Tensor]) -> Any:
    def hook(module: Any, args: Any, output: Any) -> None:
        kept[-1] = args[0][:, -1, :].float().cpu()

    return hook


def _encode(tokenizer: Any, texts: list[str]) -> dict[str, torch.Tensor]:
    """Left-padded batch (every prompt's last token in the last column)."""
    side = tokenizer.padding_side
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    try:
        batch = tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=False
        )
    finally:
        tokenizer.padding_side = side
    mask = batch["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {
        "input_ids": batch["input_ids"],
        "attention_mask": mask,
        "position_ids": positions,
    }


@dataclass
class Directions:
    """The baseline's unit refusal directions and the blocks the subject lost."""

    unit: torch.Tensor  # [layers, d]
    target: torch.Tensor  # [n, layers]: the baseline's projections
    ratios: list[float]  # subject separation / baseline separation, per block
    lost: list[int]


def find_directions(
    pair: ModelPair, prompts: Sequence[str], harmful: int, most: int
) -> Directions:
    """Measure both models on ``prompts`` (the first ``harmful`` are harmful)."""
    base = capture(pair.load(pair.baseline), pair.tokenizer, prompts).outputs
    subject = capture(pair.load(pair.finetuned), pair.tokenizer, prompts).outputs
    difference = base[:harmful].mean(0) - base[harmful:].mean(0)
    unit = difference / difference.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    target = (base * unit).sum(-1)
    moved = (subject * unit).sum(-1)
    ratios = _separation(moved, harmful) / _separation(target, harmful).clamp(min=1e-12)
    order = sorted(range(len(ratios)), key=lambda i: float(ratios[i]))
    lost = sorted(i for i in order[:most] if float(ratios[i]) < 1.0)
    return Directions(unit, target, [round(float(r), 4) for r in ratios], lost)


def _separation(projections: torch.Tensor, harmful: int) -> torch.Tensor:
    return projections[:harmful].mean(0) - projections[harmful:].mean(0)


def restore(
    pair: ModelPair,
    found: Directions,
    prompts: Sequence[str],
    *,
    scale: float,
    ridge: float,
) -> State:
    """The failing state with the rank-one edits of every lost block."""
    import torch

    state = dict(pair.finetuned)
    for layer in found.lost:
        seen = capture(pair.load(state), pair.tokenizer, prompts, layer)
        assert seen.down_inputs is not None
        unit = found.unit[layer]
        deficit = found.target[:, layer] - seen.outputs[:, layer] @ unit
        key = down_proj_key(state, layer)
        k = ridge_fit(seen.down_inputs, deficit, ridge)
        edit = scale * torch.outer(unit, k).to(state[key].dtype)
        state[key] = state[key] + edit
    return state


def ridge_fit(x: torch.Tensor, y: torch.Tensor, ridge: float) -> torch.Tensor:
    """``k`` minimizing ``‖x·k − y‖² + λ‖k‖²``, λ = ``ridge`` × mean ``‖x_i‖²``."""
    import torch

    x64, y64 = x.double(), y.double()
    gram = x64 @ x64.T
    lam = ridge * float(gram.diagonal().mean())
    eye = torch.eye(gram.shape[0], dtype=torch.float64)
    solved: torch.Tensor = x64.T @ torch.linalg.solve(gram + lam * eye, y64)
    return solved.float()


def down_proj_key(state: State, layer: int) -> str:
    """The name of block ``layer``'s MLP output weight."""
    suffix = f"layers.{layer}.mlp.down_proj.weight"
    for key in state:
        if key == suffix or key.endswith("." + suffix):
            return key
    raise KeyError(f"no {suffix} in the model")
