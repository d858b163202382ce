"""What one process computes once and then reuses: fingerprints and N/M states.

The safety-layer suite reads a checkpoint twice: its localization computes the
last-token states of the N and M queries, and representation drift needs the
same states again. :func:`remember_states` keeps the localization's states in
memory (a few checkpoints at most) and :func:`recall_states` hands them to the
drift, so a checkpoint is loaded and run once. A fingerprint hashes every
weight byte; :func:`fingerprint_once` hashes a directory once per process
while its files keep their size and modification time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.checkpoint import fingerprint_checkpoint

if TYPE_CHECKING:
    import torch

#: Checkpoints whose states stay in memory (each ``2 x 120 x layers x d`` floats).
KEPT_STATES = 4


@dataclass(frozen=True)
class StatesKey:
    """Everything the N/M last-token states depend on, batch size aside."""

    fingerprint: str
    dtype: str
    device: str
    template: str
    normal_sha256: str
    malicious_sha256: str


_lock = threading.Lock()
_states: OrderedDict[StatesKey, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
_fingerprints: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def remember_states(
    key: StatesKey, normal: torch.Tensor, malicious: torch.Tensor
) -> None:
    """Keep ``[prompts, layers, d]`` states of ``key``; the oldest go first."""
    with _lock:
        _states[key] = (normal, malicious)
        _states.move_to_end(key)
        while len(_states) > KEPT_STATES:
            _states.popitem(last=False)


def recall_states(key: StatesKey) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The states remembered under ``key``, or None."""
    with _lock:
        found = _states.get(key)
        if found is not None:
            _states.move_to_end(key)
        return found


def forget_states() -> None:
    """Drop every remembered state (tests; memory)."""
    with _lock:
        _states.clear()


def fingerprint_once(model_dir: str | Path) -> str:
    """:func:`harness.checkpoint.fingerprint_checkpoint`, once per unchanged dir."""
    path = Path(model_dir).resolve()
    files = tuple(
        (f.name, f.stat().st_size, f.stat().st_mtime_ns)
        for f in sorted(path.iterdir())
        if f.is_file()
    ) if path.is_dir() else ()  # fmt: skip
    key = (str(path), files)
    with _lock:
        known = _fingerprints.get(key)
    if known is None:
        known = fingerprint_checkpoint(str(model_dir))
        with _lock:
            _fingerprints[key] = known
    return known
