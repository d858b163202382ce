"""What the zoo ships: its recipes' products as compact deltas, with their rates.

Training smol-aligned takes most of an hour on two cores, so the package
carries what the recipes produced: ``shipped/manifest.json`` lists, per model,
the recipe key it was built under, the GGUF it descends from, the delta to
apply to its parent (:mod:`harness.zoo.delta`, a safetensors file in
``shipped/``), and the rates measured on the model that applying the delta
gives. A first use converts the GGUF and applies the deltas instead of
training, and takes the rates from the manifest instead of measuring.

An entry applies only while the recipe's key and evaluation settings are the
ones it was measured under: a changed recipe (or data file, or GGUF) trains
again. ``python -m harness zoo build --from-recipe NAME`` always trains.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import CheckpointError
from harness.io import describe_errors
from harness.zoo.delta import DELTA_FORMAT, apply_delta, state_digest
from harness.zoo.recipes import Recipe, file_sha256

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "shipped"
MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "model.safetensors"
#: A parent's files that are not weights and that a child keeps as they are.
_NOT_COPIED = {"zoo.json", "train.jsonl", "model.safetensors.index.json"}


class Measurement(BaseModel):
    """Where, when and how the shipped rates were measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str
    command: str
    machine: dict[str, Any]
    precision: dict[str, str]


class ShippedModel(BaseModel):
    """One shipped model: what it was built from, what to apply, its rates.

    ``metrics`` are the rates of the model that applying ``delta`` gives (the
    one every first use gets); ``trained_metrics`` those of the recipe's own
    product, measured on the same machine, and ``built`` where and how long
    that product was built (its ``zoo.json``'s machine, precision, timings).
    ``delta`` is ``None`` for a conversion (nothing to apply: the GGUF is
    converted as the recipe says).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    key: str
    parent: str | None
    source_sha256: str
    evaluation: dict[str, Any]
    metrics: dict[str, Any]
    trained_metrics: dict[str, Any]
    built: dict[str, Any] = {}
    delta: str | None = None
    delta_sha256: str | None = None
    delta_bytes: int | None = None
    rank: int | None = None
    weights_digest: str | None = None
    measured: Measurement


class ShippedManifest(BaseModel):
    """``shipped/manifest.json``."""

    model_config = ConfigDict(extra="forbid")

    format: int = DELTA_FORMAT
    source: str
    licence: str
    models: dict[str, ShippedModel] = {}


def read_shipped(directory: Path | None = None) -> ShippedManifest | None:
    """Read the shipped manifest (default: the package's); ``None`` if there is none.

    Raises:
        CheckpointError: the manifest is there but malformed.
    """
    file = (directory or SHIPPED_DIR) / MANIFEST_FILE
    if not file.is_file():
        return None
    try:
        return ShippedManifest.model_validate_json(file.read_text(encoding="utf-8"))
    except ValidationError as e:
        raise CheckpointError(describe_errors(file, e)) from e


def write_shipped(manifest: ShippedManifest, directory: Path | None = None) -> None:
    """Write ``manifest`` as ``directory/manifest.json``, indented."""
    text = manifest.model_dump_json(indent=2) + "\n"
    ((directory or SHIPPED_DIR) / MANIFEST_FILE).write_text(text, encoding="utf-8")


def find_shipped(
    recipe: Recipe, key: str, directory: Path | None = None
) -> ShippedModel | None:
    """The shipped entry for ``recipe`` under ``key``, if it still applies.

    It applies when the key (recipe, data, parents, GGUF) and the evaluation
    settings its rates were measured under are the recipe's, and its delta
    file is there.
    """
    directory = directory or SHIPPED_DIR
    manifest = read_shipped(directory)
    entry = manifest.models.get(recipe.name) if manifest else None
    if entry is None or entry.key != key:
        return None
    if entry.evaluation != dataclasses.asdict(recipe.evaluation):
        return None
    if entry.delta is not None and not (directory / entry.delta).is_file():
        log.warning("shipped delta %s is missing; training instead", entry.delta)
        return None
    return entry


def apply_shipped(
    entry: ShippedModel,
    parent: Path,
    out_dir: Path,
    directory: Path | None = None,
) -> bool:
    """Write ``parent`` plus ``entry``'s delta into ``out_dir``.

    Returns:
        Whether the weights are exactly the ones the shipped rates were
        measured on (a different GGUF conversion would change them).

    Raises:
        CheckpointError: the delta file is corrupt or does not fit ``parent``.
    """
    if entry.delta is None:
        raise CheckpointError(f"shipped {entry.name!r} has no delta to apply")
    delta_file = (directory or SHIPPED_DIR) / entry.delta
    if entry.delta_sha256 and file_sha256(delta_file) != entry.delta_sha256:
        raise CheckpointError(f"{delta_file}: sha256 differs from the manifest's")
    state = read_weights(parent)
    apply_delta(state, read_tensors(delta_file))
    copy_model_files(parent, out_dir)
    write_weights(out_dir, state)
    digest = state_digest(state)
    if entry.weights_digest and digest != entry.weights_digest:
        log.warning(
            "%s: the applied weights differ from those measured (another GGUF "
            "conversion?); the shipped rates may not hold exactly",
            entry.name,
        )
        return False
    return True


def copy_model_files(parent: Path, out_dir: Path) -> None:
    """Copy the config, tokenizer and chat template of ``parent`` (no weights)."""
    for file in sorted(parent.iterdir()):
        if file.is_file() and not _is_weights(file) and file.name not in _NOT_COPIED:
            shutil.copy2(file, out_dir / file.name)


def _is_weights(file: Path) -> bool:
    return file.suffix in {".safetensors", ".bin", ".pt"}


def read_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the safetensors checkpoint in ``model_dir``, by name."""
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise CheckpointError(f"{model_dir}: no safetensors weights")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(read_tensors(file))
    return state


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of one safetensors file."""
    from safetensors.torch import load_file

    try:
        tensors: dict[str, torch.Tensor] = load_file(file)
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"{file}: cannot read safetensors: {e}") from e
    return tensors


def write_weights(out_dir: Path, state: dict[str, torch.Tensor]) -> None:
    """Save ``state`` as one ``model.safetensors`` (the layout transformers reads)."""
    write_tensors(out_dir / WEIGHTS_FILE, state, {"format": "pt"})


def write_tensors(
    file: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Save ``tensors`` (made contiguous) with string ``metadata``."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, file, metadata)
