"""Weight drift: per decoder layer, how far a checkpoint's weights moved.

For every block ``i`` and each group (attention: ``q,k,v,o``; MLP: ``gate, up,
down``; Phi-3's fused ``qkv_proj`` and ``gate_up_proj`` count in their group)
the relative Frobenius norm ``||W_subject - W_base|| / ||W_base||`` over the
group's matrices together, and per projection. Names follow Llama/Qwen2
(``model.layers.{i}.self_attn.q_proj.weight``); any prefix before ``layers.``
(a PEFT wrapper, say) is ignored, so a merged adapter compares with its base.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from harness.errors import CheckpointError, IncompatibleModelsError
from harness.progress import progress_bar

if TYPE_CHECKING:
    import torch

GROUPS = {
    "attention": ("q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj"),
    "mlp": ("gate_proj", "up_proj", "down_proj", "gate_up_proj"),
}
_PARENT = {"attention": "self_attn", "mlp": "mlp"}
_LAYER_WEIGHT = re.compile(r"(?:^|\.)layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.weight$")
_EMBEDDING = re.compile(r"(?:^|\.)embed_tokens\.weight$")


class WeightDrift(BaseModel):
    """Relative weight change per layer (``None``: subject weights not finite)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layers: int
    attention: list[float | None]
    mlp: list[float | None]
    #: Per projection name (``q_proj``, ``down_proj``, ...), per layer.
    projections: dict[str, list[float | None]]
    #: Subject tensors that hold NaN or inf (their layers' drift is ``None``).
    non_finite: list[str]

    def group(self, name: str) -> list[float | None]:
        """Per-layer drift of ``attention`` or ``mlp``."""
        return self.attention if name == "attention" else self.mlp


@dataclass(frozen=True)
class ModelShape:
    """What must agree before two checkpoints can be compared."""

    architecture: str
    layers: int
    vocab: int
    hidden: int


def model_shape(config: Mapping[str, Any] | Any) -> ModelShape:
    """Read the shape from a ``config.json`` mapping or a transformers config."""
    data = config if isinstance(config, Mapping) else config.to_dict()
    architectures = data.get("architectures") or [data.get("model_type", "?")]
    return ModelShape(
        architecture=str(architectures[0]),
        layers=int(data.get("num_hidden_layers", -1)),
        vocab=int(data.get("vocab_size", -1)),
        hidden=int(data.get("hidden_size", -1)),
    )


def check_compatible(
    subject: ModelShape, baseline: ModelShape, *, names: tuple[str, str]
) -> None:
    """Refuse to compare checkpoints of another architecture, depth or vocabulary.

    Raises:
        IncompatibleModelsError: naming every field that differs.
    """
    differences = [
        f"{field} {getattr(subject, field)} vs {getattr(baseline, field)}"
        for field in ("architecture", "layers", "vocab", "hidden")
        if getattr(subject, field) != getattr(baseline, field)
    ]
    if differences:
        raise IncompatibleModelsError(
            f"cannot compare {names[0]!r} with the baseline {names[1]!r}: "
            + "; ".join(differences)
            + " (a baseline must be the same model before fine-tuning)"
        )


class SafetensorsWeights(Mapping[str, "torch.Tensor"]):
    """The tensors of a checkpoint's ``*.safetensors`` files, read one at a time."""

    def __init__(self, directory: str | Path) -> None:
        from safetensors import safe_open

        self.directory = Path(directory)
        files = sorted(self.directory.glob("*.safetensors"))
        if not files:
            raise CheckpointError(f"{self.directory}: no *.safetensors weight files")
        self._where: dict[str, Path] = {}
        for file in files:
            with safe_open(str(file), framework="pt") as handle:
                self._where.update(dict.fromkeys(handle.keys(), file))

    def __getitem__(self, key: str) -> torch.Tensor:
        from safetensors import safe_open

        with safe_open(str(self._where[key]), framework="pt") as handle:
            return handle.get_tensor(key)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def weight_drift_between(
    subject_dir: str | Path, baseline_dir: str | Path
) -> WeightDrift:
    """Weight drift of two HF checkpoint directories, after checking their shapes."""
    shapes = [model_shape(_read_config(Path(d))) for d in (subject_dir, baseline_dir)]
    names = (str(subject_dir), str(baseline_dir))
    check_compatible(shapes[0], shapes[1], names=names)
    return weight_drift(
        SafetensorsWeights(subject_dir), SafetensorsWeights(baseline_dir), names=names
    )


def _read_config(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{directory}/config.json: cannot read: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{directory}/config.json: expected a JSON object")
    return data


def weight_drift(
    subject: Mapping[str, torch.Tensor] | Any,
    baseline: Mapping[str, torch.Tensor] | Any,
    *,
    names: tuple[str, str] = ("subject", "baseline"),
) -> WeightDrift:
    """Per-layer relative Frobenius drift of two state dicts (or torch modules).

    Raises:
        IncompatibleModelsError: other layer count, vocabulary, or weight names
            or shapes.
    """
    if hasattr(subject, "config") and hasattr(baseline, "config"):
        check_compatible(
            model_shape(subject.config), model_shape(baseline.config), names=names
        )
    subject_map, baseline_map = _as_mapping(subject), _as_mapping(baseline)
    keys = _matched_keys(subject_map, baseline_map, names)
    layers = 1 + max((layer for layer, _, _ in keys), default=-1)
    sums: dict[tuple[int, str], list[float]] = {}  # (layer, projection) -> [d2, b2]
    non_finite: list[str] = []
    with progress_bar(len(keys), "weight drift") as advance:
        for (layer, _group, projection), (s_key, b_key) in keys.items():
            diff, base, finite = _squares(subject_map[s_key], baseline_map[b_key])
            sums[(layer, projection)] = [diff if finite else math.nan, base]
            if not finite:
                non_finite.append(s_key)
            advance(1)
    return _drift(layers, sums, non_finite)


def _as_mapping(source: Any) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    if hasattr(source, "state_dict"):
        return source.state_dict()  # type: ignore[no-any-return]
    raise TypeError(f"expected a state dict or a torch module, got {type(source)}")


def _layer_keys(weights: Mapping[str, Any]) -> dict[tuple[int, str, str], str]:
    found = {}
    for key in weights:
        match = _LAYER_WEIGHT.search(key)
        if match is None:
            continue
        layer, parent, projection = int(match[1]), match[2], match[3]
        group = "attention" if parent == "self_attn" else "mlp"
        if projection in GROUPS[group]:
            found[(layer, group, projection)] = key
    return found


def _matched_keys(
    subject: Mapping[str, Any], baseline: Mapping[str, Any], names: tuple[str, str]
) -> dict[tuple[int, str, str], tuple[str, str]]:
    ours, theirs = _layer_keys(subject), _layer_keys(baseline)
    _check_vocab(subject, baseline, names)
    if not theirs:
        raise IncompatibleModelsError(
            f"{names[1]!r}: no decoder-layer weights named like "
            "'model.layers.{i}.self_attn.q_proj.weight'"
        )
    if set(ours) != set(theirs):
        layers = [
            1 + max(k[0] for k in found) if found else 0 for found in (ours, theirs)
        ]
        only = sorted(set(ours) ^ set(theirs))[:3]
        raise IncompatibleModelsError(
            f"cannot compare {names[0]!r} ({layers[0]} layers) with the baseline "
            f"{names[1]!r} ({layers[1]} layers): weights differ, e.g. "
            + ", ".join(f"layers.{i}.{_PARENT[g]}.{p}" for i, g, p in only)
        )
    for key in sorted(theirs):
        a, b = subject[ours[key]], baseline[theirs[key]]
        if tuple(a.shape) != tuple(b.shape):
            raise IncompatibleModelsError(
                f"cannot compare {names[0]!r} with the baseline {names[1]!r}: "
                f"{ours[key]} has shape {tuple(a.shape)} vs {tuple(b.shape)}"
            )
    return {key: (ours[key], theirs[key]) for key in sorted(theirs)}


def _check_vocab(
    subject: Mapping[str, Any], baseline: Mapping[str, Any], names: tuple[str, str]
) -> None:
    rows = []
    for weights in (subject, baseline):
        key = next((k for k in weights if _EMBEDDING.search(k)), None)
        rows.append(None if key is None else int(weights[key].shape[0]))
    if None not in rows and rows[0] != rows[1]:
        raise IncompatibleModelsError(
            f"cannot compare {names[0]!r} with the baseline {names[1]!r}: "
            f"vocabulary {rows[0]} vs {rows[1]} tokens"
        )


def _squares(
    subject: torch.Tensor, baseline: torch.Tensor
) -> tuple[float, float, bool]:
    """Squared norms of the difference and of the baseline; whether both are finite."""
    import torch

    a, b = subject.to(torch.float64), baseline.to(torch.float64)
    finite = bool(torch.isfinite(a).all())
    return float(((a - b) ** 2).sum()), float((b**2).sum()), finite


def _ratio(diff: float, base: float) -> float | None:
    if math.isnan(diff):
        return None
    return math.sqrt(diff) / max(math.sqrt(base), 1e-12)


def _drift(
    layers: int, sums: dict[tuple[int, str], list[float]], non_finite: list[str]
) -> WeightDrift:
    projections = sorted({p for _, p in sums})
    per_projection = {
        p: [_ratio(*sums[(i, p)]) if (i, p) in sums else None for i in range(layers)]
        for p in projections
    }
    grouped: dict[str, list[float | None]] = {}
    for group, members in GROUPS.items():
        grouped[group] = []
        for i in range(layers):
            parts = [sums[(i, p)] for p in members if (i, p) in sums]
            diff = sum(d for d, _ in parts)
            grouped[group].append(
                _ratio(diff, sum(b for _, b in parts)) if parts else None
            )
    return WeightDrift(
        layers=layers,
        attention=grouped["attention"],
        mlp=grouped["mlp"],
        projections=per_projection,
        non_finite=non_finite,
    )
