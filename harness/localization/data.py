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
import io
import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

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


def _parse(file: Path, text: str) -> list[str]:
    suffix = file.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _parse_jsonl(file, text)
    if suffix == ".csv":
        return _parse_csv(text)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_jsonl(file: Path, text: str) -> list[str]:
    prompts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{file}:{number}: invalid JSON: {e.msg}") from e
        prompt = record.get("prompt") if isinstance(record, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError(f"{file}:{number}: expected an object with a 'prompt'")
        prompts.append(prompt.strip())
    return prompts


def _parse_csv(text: str) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and "prompt" in (cell.strip().lower() for cell in rows[0]):
        column = [c.strip().lower() for c in rows[0]].index("prompt")
        return [row[column].strip() for row in rows[1:] if len(row) > column]
    return [row[0].strip() for row in rows]
