"""What a run depends on besides its settings: environment variables, the weights.

A report must say exactly which weights it judged. ``zoo:smol-aligned`` names a
different directory under ``SAFETY_HARNESS_ZOO_PROFILE=ci`` than under the full
profile, and the caches the library reads move with their variables, so every
report and the pytest header carry :func:`library_environment`, and every
report the resolved directory and fingerprint of its checkpoint
(:func:`checkpoint_identity`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness import baseline_cache
from harness.checkpoint import ZOO_PREFIX
from harness.localization import profile
from harness.localization.reuse import fingerprint_once
from harness.zoo.build import cached_path
from harness.zoo.cache import is_built, zoo_root
from harness.zoo.recipes import active_profile


def _zoo_profile() -> str:
    return active_profile()


def _zoo_dir() -> str:
    return str(zoo_root())


def _profile_dir() -> str:
    return str(profile.default_cache_dir())


def _baseline_dir() -> str:
    return str(baseline_cache.default_cache_dir())


#: Each environment variable the library reads, with what it resolves to.
LIBRARY_VARIABLES: dict[str, Callable[[], str]] = {
    "SAFETY_HARNESS_ZOO_PROFILE": _zoo_profile,
    "SAFETY_HARNESS_ZOO_DIR": _zoo_dir,
    "SAFETY_HARNESS_PROFILE_DIR": _profile_dir,
    "SAFETY_HARNESS_BASELINE_DIR": _baseline_dir,
}


def library_environment(
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, str | None]]:
    """Each library variable: its value (None: unset) and what it resolved to.

    The resolution reads ``os.environ`` (as the library does); ``environ`` only
    replaces where the raw values are read from.
    """
    environ = os.environ if environ is None else environ
    return {
        name: {"value": environ.get(name) or None, "resolved": resolve()}
        for name, resolve in LIBRARY_VARIABLES.items()
    }


def checkpoint_dir_of(ref: str) -> tuple[str, bool]:
    """The directory a reference names, without building anything.

    Returns:
        The directory, and whether it holds a checkpoint yet (a ``zoo:`` model
        is built on first use, so before that its directory is still empty).
    """
    if not ref.startswith(ZOO_PREFIX):
        return str(Path(ref).expanduser().resolve()), True

    path = cached_path(ref.removeprefix(ZOO_PREFIX))
    return str(path), is_built(path)


def checkpoint_identity(ref: str) -> dict[str, Any]:
    """The resolved directory and weight fingerprint of a checkpoint reference.

    The fingerprint hashes every weight byte, so it is computed once per
    directory and process and then served from memory.

    Raises:
        CheckpointError: the directory holds no readable checkpoint.
    """
    path, built = checkpoint_dir_of(ref)
    return {
        "ref": ref,
        "path": path,
        "fingerprint": fingerprint_once(path) if built else None,
    }
