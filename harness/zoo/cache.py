"""Where zoo models live on disk, and how a build is published atomically.

A model lives in ``<root>/<name>-<key>/``, where ``key`` is a digest of its
recipe (see :func:`harness.zoo.recipes.recipe_key`): a changed recipe gets a
new directory and never reuses a stale build. A build writes into a temporary
sibling directory and renames it into place, so a directory with a
``zoo.json`` manifest is always complete. A per-model lock file keeps two
processes (pytest-xdist workers, two terminals) from building the same model
at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import CheckpointError
from harness.io import write_json_atomic

#: Environment variable that overrides the cache root.
ZOO_DIR_ENV = "SAFETY_HARNESS_ZOO_DIR"
MANIFEST = "zoo.json"
APP_NAME = "safety-layer-harness"


def zoo_root() -> Path:
    """Return the cache root: ``$SAFETY_HARNESS_ZOO_DIR`` or the user cache dir."""
    override = os.environ.get(ZOO_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "zoo"


def model_dir(name: str, key: str, root: Path | None = None) -> Path:
    """Return the directory of model ``name`` built by the recipe with ``key``."""
    return (root or zoo_root()) / f"{name}-{key}"


def is_built(path: Path) -> bool:
    """A model directory is complete exactly when it holds its manifest."""
    return (path / MANIFEST).is_file()


def read_manifest(path: Path) -> dict[str, Any]:
    """Read the ``zoo.json`` manifest of a built model."""
    file = path / MANIFEST
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{file}: cannot read the zoo manifest: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: expected a JSON object")
    return data


def write_json(path: Path, data: object) -> None:
    """Write JSON with sorted keys and a trailing newline, atomically."""
    write_json_atomic(path, data, sort_keys=True)


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock for building ``target``; wait while another holds it."""
    import fcntl

    target.parent.mkdir(parents=True, exist_ok=True)
    lock_file = target.parent / f".{target.name}.lock"
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` when the block succeeds.

    On any error the temporary directory is removed and ``target`` is left
    untouched: nothing half-written is ever visible under the final name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; a cache is shared
        if target.exists():  # a stale directory without a manifest
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_staging(target: Path) -> None:
    """Delete staging dirs a killed build of ``target`` left behind.

    Call it while holding :func:`build_lock`: no live build of ``target`` can
    own one of them then.
    """
    for stale in target.parent.glob(f".{target.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def built_models(root: Path | None = None) -> list[Path]:
    """Every complete model directory under the cache root, sorted by name."""
    base = root or zoo_root()
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and is_built(p))
