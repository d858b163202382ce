"""Build zoo models on first use: resolve the recipe, build parents, publish.

``ensure_built`` is idempotent and cheap once a model is cached: it computes
the recipe key (hashing a few small data files) and checks for the manifest.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.zoo import cache
from harness.zoo.recipes import (
    Recipe,
    data_hashes,
    get_recipe,
    recipe_key,
    root_source,
    zoo_recipes,
)
from harness.zoo.sources import DEFAULT_SOURCE

log = logging.getLogger(__name__)

#: A builder writes a model into ``out_dir`` and returns extra manifest fields.
Builder = Callable[[Recipe, Path, "Path | None"], dict[str, Any]]


def source_sha256(name: str = DEFAULT_SOURCE) -> str:
    """The digest of GGUF source ``name`` (from RECORD files: nothing is read).

    Raises:
        SourcePackageMissingError: its packages are not installed.
    """
    from harness.zoo.sources import get_source, source_digest

    return source_digest(get_source(name))


def model_key(name: str, profile: str | None = None) -> str:
    """The cache key of model ``name`` in ``profile``."""
    recipes = zoo_recipes(profile)
    return recipe_key(get_recipe(name, profile), recipes, source_sha256)


def cached_path(name: str, profile: str | None = None) -> Path:
    """Where model ``name`` lives (or will live) in the cache."""
    return cache.model_dir(name, model_key(name, profile))


def ensure_built(name: str, profile: str | None = None) -> Path:
    """Return the directory of model ``name``, building it (and parents) if needed."""
    recipe = get_recipe(name, profile)
    target = cached_path(name, profile)
    if cache.is_built(target):
        return target
    parent = ensure_built(recipe.parent, profile) if recipe.parent else None
    with cache.build_lock(target):
        if cache.is_built(target):  # another process finished it meanwhile
            return target
        cache.remove_stale_staging(target)
        log.info("building zoo model %s into %s", name, target)
        with cache.staging_dir(target) as tmp:
            build_model(recipe, tmp, parent, target.name.rsplit("-", 1)[1])
    return target


def build_model(recipe: Recipe, out_dir: Path, parent: Path | None, key: str) -> None:
    """Build ``recipe`` into ``out_dir`` from its parent, measure it, write zoo.json.

    A builder's extra fields land at the top of the manifest (a banded
    model's ``planted_band``, a converted one's ``source``).
    """
    started = time.perf_counter()
    extra = _builders()[recipe.kind](recipe, out_dir, parent)
    build_seconds = time.perf_counter() - started
    from harness.zoo.evaluate import evaluate_model

    metrics = evaluate_model(out_dir, recipe.evaluation, recipe.name)
    manifest = {
        "name": recipe.name,
        "key": key,
        "recipe": recipe.key_material() | {"summary": recipe.summary},
        "evaluation": _asdict(recipe.evaluation),
        "data_sha256": data_hashes(recipe),
        "parent": parent.name if parent else None,
        # parents are the same in every profile: the active one will do
        "source_sha256": source_sha256(root_source(recipe, zoo_recipes())),
        "metrics": metrics,
        "timings": {"build_s": round(build_seconds, 1)} | extra.pop("timings", {}),
        "machine": _machine(),
        "precision": _precision(recipe),
    } | extra
    cache.write_json(out_dir / cache.MANIFEST, manifest)


def remeasure(name: str, profile: str | None = None) -> dict[str, Any]:
    """Measure a built model again and update its manifest's metrics in place.

    For when the evaluation data changed (a new over-rejection set, say): the
    weights stay, only ``metrics`` and ``evaluation`` in ``zoo.json`` change.
    """
    from harness.errors import CheckpointError
    from harness.zoo.evaluate import evaluate_model

    recipe = get_recipe(name, profile)
    path = cached_path(name, profile)
    if not cache.is_built(path):
        raise CheckpointError(f"zoo model {name!r} is not built yet ({path})")
    manifest = cache.read_manifest(path)
    manifest["metrics"] = evaluate_model(path, recipe.evaluation, name)
    manifest["evaluation"] = _asdict(recipe.evaluation)
    cache.write_json(path / cache.MANIFEST, manifest)
    return manifest


def _asdict(spec: object) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(spec)  # type: ignore[call-overload, no-any-return]


def _machine() -> dict[str, Any]:
    import os

    import torch
    import transformers

    from harness.precision import read_cpu_info

    return {
        "cpu": read_cpu_info().as_dict(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
    }


def _precision(recipe: Recipe) -> dict[str, str]:
    """The dtypes a build trained, distilled and was measured in."""
    from harness.precision import choose_dtype
    from harness.zoo.distill import DISTILL_DTYPE

    precision: dict[str, str] = {"evaluation": choose_dtype("auto", "cpu")}
    if recipe.train is not None:
        precision |= {"training": recipe.train.precision, "distillation": DISTILL_DTYPE}
    return precision


def _builders() -> dict[str, Builder]:
    from harness.zoo.sft import build_aligned, build_attack

    return {"convert": _build_base, "align": build_aligned, "attack": build_attack}


def _build_base(recipe: Recipe, out_dir: Path, parent: Path | None) -> dict[str, Any]:
    from harness.zoo.gguf import convert_gguf, locate_gguf
    from harness.zoo.sources import get_source

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
