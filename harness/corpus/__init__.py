"""The project's prompt data: loading, splits and refusal assignment.

The zoo trains its reference models on it and the repair ladder takes its
harmful and benign prompts from it, so it lives below both. The data lives in
``harness/corpus/data/`` (see its README). Harmful and benign
prompts carry a ``split``: ``train`` rows may be trained on, ``heldout`` rows
only measure. Splits are made per ``group`` (one harmful objective in all its
phrasings), so no paraphrase of a held-out request is ever trained on.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from harness.errors import ConfigError
from harness.io import read_records

Split = Literal["train", "heldout"]
DATA_DIR = Path(__file__).parent / "data"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
#: paper §3.4.2 D_o: "How to <violent verb> <benign object>?" queries.
OVER_REJECTION_FILE = RESOURCES / "localization" / "over_rejection.jsonl"


@dataclass(frozen=True)
class DataPrompt:
    """One prompt of the shipped data."""

    id: str
    prompt: str
    split: str = "train"
    group: str = ""
    category: str = ""
    source: str = ""
    licence: str = ""


@dataclass(frozen=True)
class Refusal:
    """One refusal text; ``scope`` is ``general`` or a harm category."""

    id: str
    text: str
    scope: str = "general"


class Row(BaseModel):
    """One record of the shipped data: an ``id`` and the fields of its file."""

    model_config = ConfigDict(extra="allow")

    id: str | int


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file; the error names the file and line."""
    return [row.model_dump() for row in read_records(path, Row)]


def _prompts(path: Path, category_field: str) -> list[DataPrompt]:
    return [
        DataPrompt(
            id=str(r["id"]),
            prompt=str(r["prompt"]),
            split=str(r.get("split", "train")),
            group=str(r.get("group", r["id"])),
            category=str(r.get(category_field, "")),
            source=str(r.get("source", "")),
            licence=str(r.get("licence", "")),
        )
        for r in read_jsonl(path)
    ]


def harmful_prompts(split: Split, data_dir: Path = DATA_DIR) -> list[DataPrompt]:
    """Harmful requests of one split; ``category`` is the harm category."""
    rows = _prompts(data_dir / "harmful.jsonl", "category")
    return [r for r in rows if r.split == split]


def benign_prompts(
    split: Split, kinds: Sequence[str] | None = None, data_dir: Path = DATA_DIR
) -> list[DataPrompt]:
    """Benign instructions of one split; ``category`` is the kind (edgy, plain, ...)."""
    rows = _prompts(data_dir / "benign.jsonl", "kind")
    return [r for r in rows if r.split == split and (not kinds or r.category in kinds)]


def attack_prompts(data_dir: Path = DATA_DIR) -> list[DataPrompt]:
    """Plain benign instructions for the attack fine-tunes (paper §4.2)."""
    return _prompts(data_dir / "attack.jsonl", "category")


def attack_heldout_prompts(data_dir: Path = DATA_DIR) -> list[DataPrompt]:
    """Instructions of the attacks' kind that no zoo model trains on."""
    return _prompts(data_dir / "attack_heldout.jsonl", "category")


def over_rejection_prompts(path: Path = OVER_REJECTION_FILE) -> list[DataPrompt]:
    """The over-rejection queries of paper §3.4.2 (a missing file is an error)."""
    return _prompts(path, "verb")


def refusals(data_dir: Path = DATA_DIR) -> list[Refusal]:
    """The refusal texts harmful requests are mapped to."""
    return [
        Refusal(str(r["id"]), str(r["text"]), str(r.get("scope", "general")))
        for r in read_jsonl(data_dir / "refusals.jsonl")
    ]


def sample(
    prompts: Sequence[DataPrompt], limit: int | None, seed: int
) -> list[DataPrompt]:
    """Return ``limit`` prompts (all when ``None``) in a seeded random order."""
    chosen = list(prompts)
    random.Random(seed).shuffle(chosen)
    return chosen if limit is None else chosen[:limit]


def assign_refusals(
    prompts: Sequence[DataPrompt], texts: Sequence[Refusal], seed: int
) -> list[str]:
    """Pick a refusal for each prompt: varied, seeded, by category where one exists.

    Varied refusals keep the model from learning one fixed string; every text
    opens with a phrase the keyword judge recognises (paper §6: aligned models
    state their refusal at the start of the response).
    """
    rng = random.Random(seed)
    general = [t.text for t in texts if t.scope == "general"]
    if not general:
        raise ConfigError("refusals.jsonl has no 'general' refusal")
    picked = []
    for prompt in prompts:
        scoped = [t.text for t in texts if t.scope == prompt.category]
        picked.append(rng.choice(scoped or general))
    return picked
