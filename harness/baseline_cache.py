"""Baseline results computed once, shared by runs, subjects and xdist workers.

Entries are keyed by the baseline's weights fingerprint, a digest of the
settings that shape its results and the suite name. :meth:`BaselineCache.get_or_compute`
takes a file lock per key: under ``pytest -n 2`` one worker computes while the
others wait on the lock, then read. The lock is an OS lock (``filelock``),
released by the kernel if its holder dies, so a crash never leaves a stale
lock; entries are written to a temporary file and renamed
(:func:`harness.io.write_json_atomic`), so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.errors import BaselineCacheError
from harness.io import write_json_atomic
from harness.text import safe_name

SCHEMA_VERSION = 1
BASELINE_DIR_ENV = "SAFETY_HARNESS_BASELINE_DIR"


class BaselineKey(BaseModel):
    """What a baseline result depends on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str
    settings_digest: str
    suite: str

    def digest(self) -> str:
        """A short stable hash of the key, part of the entry's file name."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24]


def settings_digest(settings: Mapping[str, Any]) -> str:
    """Hash the settings that shape a baseline's results (JSON-ready values).

    Pass only what changes the results (dtype, max new tokens, judge, prompt
    limit, seed, ...), not where reports go, so unrelated options keep the cache.
    """
    blob = json.dumps(dict(settings), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$SAFETY_HARNESS_BASELINE_DIR``, else the user cache directory."""
    configured = os.environ.get(BASELINE_DIR_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("safety-layer-harness")) / "baselines"


class BaselineCache:
    """Baseline results stored as JSON, one file per key, in one directory.

    Args:
        directory: where entries go (default :func:`default_cache_dir`).
        timeout_s: how long to wait for another process computing the same
            entry; ``-1`` waits as long as it takes (a baseline can take
            minutes, and a dead holder's lock is released by the OS).
    """

    def __init__(
        self, directory: str | Path | None = None, *, timeout_s: float = -1
    ) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.timeout_s = timeout_s

    def path(self, key: BaselineKey) -> Path:
        """File of the entry with this key."""
        return self.directory / f"{safe_name(key.suite)}-{key.digest()}.json"

    def get(self, key: BaselineKey) -> dict[str, Any] | None:
        """The cached result, or ``None`` (an unreadable or foreign file is absent)."""
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("schema_version") != SCHEMA_VERSION
            or data.get("key") != key.model_dump()
            or not isinstance(data.get("result"), dict)
        ):
            return None
        return data["result"]  # type: ignore[no-any-return]

    def put(self, key: BaselineKey, result: Mapping[str, Any]) -> Path:
        """Store ``result`` atomically (callers normally use :meth:`get_or_compute`)."""
        entry = {
            "schema_version": SCHEMA_VERSION,
            "key": key.model_dump(),
            "result": dict(result),
        }
        return write_json_atomic(self.path(key), entry)

    def get_or_compute(
        self, key: BaselineKey, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Return the cached result, computing and storing it once if absent.

        Raises:
            BaselineCacheError: the lock cannot be taken within ``timeout_s``.
        """
        cached = self.get(key)
        if cached is not None:
            return cached
        from filelock import FileLock, Timeout

        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path(key)) + ".lock", timeout=self.timeout_s)
        try:
            with lock:
                # Another process may have finished while this one waited.
                cached = self.get(key)
                if cached is not None:
                    return cached
                result = compute()
                self.put(key, result)
                # Re-read so every process returns the same JSON-round-tripped value.
                return self.get(key) or result
        except Timeout as e:
            raise BaselineCacheError(
                f"{lock.lock_file}: waited {self.timeout_s:g} s for another process "
                "computing this baseline; remove the lock file if none is running"
            ) from e
