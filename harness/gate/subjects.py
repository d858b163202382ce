"""The checkpoints a run names: vetted before anything loads, one subject each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checkpoint import ZOO_PREFIX, inspect_checkpoint
from harness.config import RunSettings, Subject
from harness.drift.weights import check_compatible, model_shape
from harness.errors import ConfigError, HarnessError, IncompatibleModelsError


def make_subjects(refs: tuple[str, ...]) -> tuple[Subject, ...]:
    """One subject per reference; repeated names get a ``-2``, ``-3`` suffix."""
    subjects: list[Subject] = []
    taken: set[str] = set()
    for ref in dict.fromkeys(refs):  # the same checkpoint twice is one subject
        subject = Subject.from_ref(ref)
        name, number = subject.name, 1
        while name in taken:
            number += 1
            name = f"{subject.name}-{number}"
        taken.add(name)
        subjects.append(Subject(ref=ref, name=name))
    return tuple(subjects)


def vet_checkpoints(
    settings: RunSettings,
    *,
    model_flag: str = "--model",
    baseline_flag: str = "--baseline",
) -> None:
    """Check every named checkpoint directory, and the baseline's shape, before
    anything loads (a ``zoo:`` model is built on first use and vetted then).

    Raises:
        ConfigError: naming the option and the checkpoint.
    """
    named = [(model_flag, ref) for ref in settings.models]
    if settings.baseline is not None:
        named.append((baseline_flag, settings.baseline))
    for flag, ref in named:
        if ref.startswith(ZOO_PREFIX):
            continue
        try:
            inspect_checkpoint(
                ref,
                allow_pickle=settings.allow_pickle,
                trust_remote_code=settings.trust_remote_code,
            )
        except HarnessError as e:
            raise ConfigError(f"{flag} {ref}: {e}") from e
    check_baseline_shape(settings, baseline_flag=baseline_flag)


def check_baseline_shape(settings: RunSettings, *, baseline_flag: str) -> None:
    """Refuse a baseline of another architecture, depth or vocabulary.

    Only local directories with a ``config.json`` are compared here (a zoo
    model is built later, an adapter has its base's config); the safety-layer
    suite checks the rest when it compares weights.

    Raises:
        ConfigError: naming both checkpoints and what differs.
    """
    if settings.baseline is None or (baseline := _shape(settings.baseline)) is None:
        return
    for ref in settings.models:
        shape = _shape(ref)
        if shape is None:
            continue
        try:
            check_compatible(shape, baseline, names=(ref, settings.baseline))
        except IncompatibleModelsError as e:
            raise ConfigError(f"{baseline_flag} {settings.baseline}: {e}") from e


def _shape(ref: str) -> Any:
    file = Path(ref) / "config.json"
    if ref.startswith(ZOO_PREFIX) or not file.is_file():
        return None
    try:
        return model_shape(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None  # vetting and loading report unreadable configs
