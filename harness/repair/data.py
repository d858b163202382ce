"""The user's fine-tuning data (``--repair-data``): read, split, hashed.

JSON, JSONL or CSV, read with ``datasets``. A record is one of:

* Alpaca: ``instruction``, optional ``input``, ``output`` (paper App. A.1: the
  input, when not empty, follows the instruction);
* chat: ``messages`` (``role``/``content``); the last assistant turn is the
  response and the user turn before it the prompt;
* ``prompt``/``response`` (what the zoo writes next to its fine-tunes).

A seeded share is held out for the utility check; SPPFT trains on the rest.
That slice is part of what the failing checkpoint trained on, which is fair to
the post-hoc rungs (all have seen it) but not to SPPFT (it has not): a
separate held-out file, examples of the same task that the fine-tune never
saw, makes the check fair to every rung (``heldout=``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, MissingDependencyError
from harness.progress import quiet_library_bars
from harness.training import SFTExample

SUFFIXES = {".json": "json", ".jsonl": "json", ".ndjson": "json", ".csv": "csv"}


@dataclass(frozen=True)
class RepairData:
    """The examples, split, and the sha256 of the file they came from."""

    path: Path
    sha256: str
    train: tuple[SFTExample, ...]
    heldout: tuple[SFTExample, ...]
    #: The separate held-out file, if one was given (else a slice of ``path``).
    heldout_path: Path | None = None
    heldout_sha256: str | None = None


def load_repair_data(
    path: str | Path,
    *,
    heldout_share: float = 0.1,
    max_heldout: int = 64,
    seed: int = 0,
    heldout: str | Path | None = None,
) -> RepairData:
    """Read ``path`` and hold out a seeded slice (at least one example).

    With ``heldout`` (a file in the same formats), every example of ``path``
    trains and the utility check uses the first ``max_heldout`` of that file.

    Raises:
        ConfigError: naming the file, and the record, of what is wrong.
    """
    path = Path(path)
    examples = _examples(path)
    if heldout is not None:
        held_path = Path(heldout)
        return RepairData(
            path=path,
            sha256=file_sha256(path),
            train=tuple(examples),
            heldout=tuple(_examples(held_path)[:max_heldout]),
            heldout_path=held_path,
            heldout_sha256=file_sha256(held_path),
        )
    if len(examples) < 2:
        raise ConfigError(f"{path}: need at least 2 examples, found {len(examples)}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    count = min(max_heldout, max(1, round(heldout_share * len(examples))))
    held = sorted(order[:count])
    train = [examples[i] for i in sorted(order[count:])]
    return RepairData(
        path=path,
        sha256=file_sha256(path),
        train=tuple(train),
        heldout=tuple(examples[i] for i in held),
    )


def _examples(path: Path) -> list[SFTExample]:
    examples = [
        _example(row, f"{path}: record {i}") for i, row in enumerate(_rows(path))
    ]
    if not examples:
        raise ConfigError(f"{path}: no examples")
    return examples


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(path: Path) -> list[Mapping[str, Any]]:
    builder = SUFFIXES.get(path.suffix.lower())
    if builder is None:
        raise ConfigError(
            f"{path}: unknown data format {path.suffix!r}; use .json, .jsonl or .csv"
        )
    if not path.is_file():
        raise ConfigError(f"{path}: no such data file")
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise MissingDependencyError("datasets") from e
    try:
        with quiet_library_bars():  # "Generating train split" on every read
            dataset = load_dataset(builder, data_files=str(path), split="train")
    except Exception as e:  # datasets raises many types for unreadable files
        raise ConfigError(f"{path}: cannot read the data: {e}") from e
    return list(dataset)


def _example(row: Mapping[str, Any], where: str) -> SFTExample:
    if row.get("messages"):
        return _chat(row["messages"], where)
    if row.get("instruction") is not None and row.get("output") is not None:
        extra = str(row.get("input") or "").strip()
        prompt = str(row["instruction"]).strip()
        return SFTExample(
            f"{prompt}\n\n{extra}" if extra else prompt, str(row["output"])
        )
    if row.get("prompt") is not None and row.get("response") is not None:
        return SFTExample(str(row["prompt"]), str(row["response"]))
    fields = sorted(k for k, v in row.items() if v is not None)
    raise ConfigError(
        f"{where}: expected instruction/input/output, messages, or "
        f"prompt/response fields; found {fields}"
    )


def _chat(messages: Sequence[Any], where: str) -> SFTExample:
    turns = [(str(m.get("role")), str(m.get("content", ""))) for m in messages]
    answers = [i for i, (role, _) in enumerate(turns) if role == "assistant"]
    if not answers:
        raise ConfigError(f"{where}: 'messages' has no assistant turn")
    last = answers[-1]
    users = [text for role, text in turns[:last] if role == "user"]
    if not users:
        raise ConfigError(f"{where}: no user turn before the last assistant turn")
    return SFTExample(users[-1], turns[last][1])
