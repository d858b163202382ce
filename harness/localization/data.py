"""Query sets of the localization: normal (N), malicious (M), over-rejection (D_o).

The defaults ship with the package (``harness/resources/localization``, written
by the project; see the README there). Users may pass their own file instead:

* ``.jsonl``: one JSON object per line with a ``prompt`` field;
* ``.csv``: a ``prompt`` column, or no header and the query in the first column
  (the layout of the authors' ``normal.csv``/``malicious.csv``);
* anything else: plain text, one query per line.
"""

from __future__ import annotations

import csv
import hashlib
import io as text_io
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.errors import ConfigError
from harness.io import JSONL_SUFFIXES, read_records

QUERY_SETS = ("normal", "malicious", "over_rejection")
RESOURCE_DIR = Path(__file__).resolve().parent.parent / "resources" / "localization"


@dataclass(frozen=True)
class QuerySet:
    """The queries of one set, where they came from and a hash of their text."""

    name: str
    source: str
    prompts: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """Hash of the queries themselves (the same data in any format hashes alike)."""
        return hashlib.sha256(json.dumps(self.prompts).encode()).hexdigest()


def default_path(name: str) -> Path:
    """The shipped file of query set ``name``."""
    if name not in QUERY_SETS:
        raise ConfigError(f"unknown query set {name!r}; known: {', '.join(QUERY_SETS)}")
    return RESOURCE_DIR / f"{name}.jsonl"


def load_query_set(name: str, path: str | Path | None = None) -> QuerySet:
    """Load query set ``name`` from ``path``, or the shipped default."""
    file = Path(path) if path is not None else default_path(name)
    source = str(file) if path is not None else f"builtin:{name}"
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{file}: cannot read the {name} queries: {e}") from e
    prompts = tuple(_parse(file, text))
    if len(prompts) < 2:
        raise ConfigError(f"{file}: the {name} set needs at least two queries")
    return QuerySet(name, source, prompts)


def spread_subset(queries: QuerySet, limit: int | None) -> QuerySet:
    """At most ``limit`` queries (None: all), evenly spread over the set.

    Evenly spaced indices keep the set's order and its mix of templates, and
    the same limit always picks the same queries.
    """
    prompts = queries.prompts
    if limit is None or limit >= len(prompts):
        return queries
    picked = tuple(prompts[i * len(prompts) // limit] for i in range(limit))
    source = f"{queries.source}[{limit} of {len(prompts)}]"
    return QuerySet(queries.name, source, picked)


class Query(BaseModel):
    """One record of a JSONL or CSV query file (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1)

    @field_validator("prompt")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is empty")
        return value.strip()


def _parse(file: Path, text: str) -> list[str]:
    suffix = file.suffix.lower()
    if suffix in JSONL_SUFFIXES or (suffix == ".csv" and _has_prompt_header(text)):
        return [query.prompt for query in read_records(file, Query)]
    if suffix == ".csv":  # no header: the query is the first column
        rows = csv.reader(text_io.StringIO(text))
        return [row[0].strip() for row in rows if row and row[0].strip()]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _has_prompt_header(text: str) -> bool:
    header = next(csv.reader(text_io.StringIO(text)), [])
    return "prompt" in (cell.strip().lower() for cell in header)
