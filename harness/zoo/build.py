"""Build zoo models on first use: resolve the recipe, build parents, publish.

``ensure_built`` is idempotent and cheap once a model is cached: it computes
the recipe key (hashing a few small data files) and checks for the manifest.
A model the package ships (:mod:`harness.zoo.shipped`) is its parent plus the
shipped delta, with the shipped rates; ``from_recipe=True`` trains and measures
it, and its parents, as the recipe says.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import CheckpointError
from harness.precision import choose_dtype, read_cpu_info
from harness.zoo import cache, evaluate, shipped
from harness.zoo.distill import DISTILL_DTYPE
from harness.zoo.gguf import convert_gguf, locate_gguf
from harness.zoo.recipes import (
    Recipe,
    data_hashes,
    get_recipe,
    recipe_key,
    root_source,
    zoo_recipes,
)
from harness.zoo.sft import build_aligned, build_attack
from harness.zoo.sources import DEFAULT_SOURCE, get_source, source_digest

log = logging.getLogger(__name__)

#: A builder writes a model into ``out_dir`` and returns extra manifest fields.
#: Builds a recipe into a directory from its parent; the last argument builds
#: (or finds) another zoo model, e.g. an attack's teacher.
Builder = Callable[[Recipe, Path, "Path | None", Callable[[str], Path]], dict[str, Any]]


def source_sha256(name: str = DEFAULT_SOURCE) -> str:
    """The digest of GGUF source ``name`` (from RECORD files: nothing is read).

    Raises:
        SourcePackageMissingError: its packages are not installed.
    """
    return source_digest(get_source(name))


def model_key(name: str, profile: str | None = None) -> str:
    """The cache key of model ``name`` in ``profile``."""
    recipes = zoo_recipes(profile)
    return recipe_key(get_recipe(name, profile), recipes, source_sha256)


def cached_path(name: str, profile: str | None = None) -> Path:
    """Where model ``name`` lives (or will live) in the cache."""
    return cache.model_dir(name, model_key(name, profile))


#: ``zoo.json``'s ``origin``: trained and measured here, or shipped.
RECIPE, SHIPPED = "recipe", "shipped"


def ensure_built(
    name: str, profile: str | None = None, *, from_recipe: bool = False
) -> Path:
    """Return the directory of model ``name``, building it (and parents) if needed.

    Args:
        name: The zoo model.
        profile: ``full`` or ``ci`` (default: the active one).
        from_recipe: Train and measure as the recipe says, even where the
            package ships the model; a shipped build in the cache (and in its
            ancestry) is replaced.
    """
    recipe = get_recipe(name, profile)
    target = cached_path(name, profile)
    if _usable(target, from_recipe):
        return target
    parent = (
        ensure_built(recipe.parent, profile, from_recipe=from_recipe)
        if recipe.parent
        else None
    )
    with cache.build_lock(target):
        if _usable(target, from_recipe):  # another process finished it meanwhile
            return target
        cache.remove_stale_staging(target)
        key = target.name.rsplit("-", 1)[1]
        entry = None if from_recipe else shipped.find_shipped(recipe, key)
        log.info("building zoo model %s into %s", name, target)
        with cache.staging_dir(target) as tmp:
            if entry is not None:
                build_shipped(recipe, tmp, parent, key, entry)
            else:
                build_model(recipe, tmp, parent, key)
    return target


def _usable(target: Path, from_recipe: bool) -> bool:
    if not cache.is_built(target):
        return False
    return not from_recipe or origin(target) == RECIPE


def origin(path: Path) -> str:
    """``recipe`` or ``shipped``: how the built model at ``path`` came to be."""
    return str(cache.read_manifest(path).get("origin", RECIPE))


def build_model(recipe: Recipe, out_dir: Path, parent: Path | None, key: str) -> None:
    """Build ``recipe`` into ``out_dir`` from its parent, measure it, write zoo.json.

    A builder's extra fields land at the top of the manifest (a banded
    model's ``planted_band``, a converted one's ``source``).
    """
    started = time.perf_counter()
    extra = _builders()[recipe.kind](recipe, out_dir, parent, ensure_built)
    build_seconds = time.perf_counter() - started
    metrics = evaluate.evaluate_model(out_dir, recipe.evaluation, recipe.name)
    manifest = _manifest(recipe, key, parent, metrics) | {
        "timings": {"build_s": round(build_seconds, 1)} | extra.pop("timings", {}),
        "precision": _precision(recipe),
        "origin": RECIPE,
    }
    cache.write_json(out_dir / cache.MANIFEST, manifest | extra)


def build_shipped(
    recipe: Recipe,
    out_dir: Path,
    parent: Path | None,
    key: str,
    entry: shipped.ShippedModel,
) -> None:
    """Build the shipped ``recipe`` into ``out_dir``: convert or apply, no measuring.

    A conversion runs as the recipe says; a fine-tune is its parent plus the
    shipped delta. The rates are the manifest's, measured where it says.
    """
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if entry.delta is None:
        extra = _builders()[recipe.kind](recipe, out_dir, parent, ensure_built)
        exact = True
    elif parent is None:
        raise CheckpointError(f"shipped {recipe.name!r} needs its parent")
    else:
        exact = shipped.apply_shipped(entry, parent, out_dir)
    build_seconds = time.perf_counter() - started
    described = {
        "rank": entry.rank,
        "delta": entry.delta,
        "delta_sha256": entry.delta_sha256,
        "weights_as_measured": exact,
        "measured": entry.measured.model_dump(),
        "trained_metrics": entry.trained_metrics,
    }
    manifest = _manifest(recipe, key, parent, entry.metrics) | {
        "timings": {"build_s": round(build_seconds, 1)} | extra.pop("timings", {}),
        "precision": entry.measured.precision,
        "origin": SHIPPED,
        "shipped": described,
    }
    cache.write_json(out_dir / cache.MANIFEST, manifest | extra)


def _manifest(
    recipe: Recipe, key: str, parent: Path | None, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The fields every ``zoo.json`` has, however the model was made."""
    return {
        "name": recipe.name,
        "key": key,
        "recipe": recipe.key_material() | {"summary": recipe.summary},
        "evaluation": dataclasses.asdict(recipe.evaluation),
        "data_sha256": data_hashes(recipe),
        "parent": parent.name if parent else None,
        # parents are the same in every profile: the active one will do
        "source_sha256": source_sha256(root_source(recipe, zoo_recipes())),
        "metrics": metrics,
        "machine": machine_info(),
    }


def remeasure(name: str, profile: str | None = None) -> dict[str, Any]:
    """Measure a built model again and update its manifest's metrics in place.

    For when the evaluation data changed (a new over-rejection set, say): the
    weights stay, only ``metrics`` and ``evaluation`` in ``zoo.json`` change.
    """
    recipe = get_recipe(name, profile)
    path = cached_path(name, profile)
    if not cache.is_built(path):
        raise CheckpointError(f"zoo model {name!r} is not built yet ({path})")
    manifest = cache.read_manifest(path)
    manifest["metrics"] = evaluate.evaluate_model(path, recipe.evaluation, name)
    manifest["evaluation"] = dataclasses.asdict(recipe.evaluation)
    cache.write_json(path / cache.MANIFEST, manifest)
    return manifest


def machine_info() -> dict[str, Any]:
    """The CPU, Python, torch and transformers a build or measurement ran on."""
    import torch
    import transformers

    return {
        "cpu": read_cpu_info().as_dict(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        # training runs there when there is one (harness.training)
        "accelerator": torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else None,
    }


def _precision(recipe: Recipe) -> dict[str, str]:
    """The dtypes a build trained, distilled and was measured in."""
    precision: dict[str, str] = {"evaluation": choose_dtype("auto", "cpu")}
    if recipe.train is not None:
        precision |= {"training": recipe.train.precision, "distillation": DISTILL_DTYPE}
    return precision


def _builders() -> dict[str, Builder]:
    return {"convert": _build_base, "align": build_aligned, "attack": build_attack}


def _build_base(
    recipe: Recipe, out_dir: Path, parent: Path | None, built: Callable[[str], Path]
) -> dict[str, Any]:
    package = get_source(recipe.source)
    started = time.perf_counter()
    source = locate_gguf(package)
    located_s = time.perf_counter() - started
    convert_gguf(source, out_dir)
    described: dict[str, Any] = {
        "gguf": source.path.name,
        "package": source.package_version,
    }
    if package.chunked:
        described |= {
            "model": package.model,
            "distributions": [c.distribution for c in package.chunks],
        }
        return {"source": described, "timings": {"assemble_s": round(located_s, 1)}}
    return {"source": described}
