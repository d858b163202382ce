"""Resume a repair from its last finished candidate.

Every finished candidate (judged, or set aside unjudged) is appended to
``journal.jsonl`` in the repair's state directory beside the output, with the
failing checkpoint's own verdict first. A rerun with the same inputs and
settings (the journal's key) replays those records instead of building and
judging again, keeps the directory of a candidate that had passed, and goes
on from the first candidate it has no record of. Other inputs or settings
start the journal afresh.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.repair.records import Candidate, CandidateVerdict

JOURNAL = "journal.jsonl"
_BEFORE = "before"


def state_dir(out: Path) -> Path:
    """Where a repair into ``out`` keeps its candidates and journal."""
    return out.with_name(f".{out.name}.repair")


def entry_id(rung: str, params: dict[str, Any]) -> str:
    """A candidate's identity: its rung and the parameters it was proposed with."""
    return f"{rung} {json.dumps(params, sort_keys=True, default=str)}"


@dataclass
class Journal:
    """The finished candidates of one repair, by :func:`entry_id`."""

    path: Path
    key: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path, key: str) -> Journal:
        """Read ``directory``'s journal if it has ``key``; else start it afresh."""
        path = directory / JOURNAL
        entries = _read(path)
        if entries.get("key", {}).get("key") != key:
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            journal = cls(path, key)
            journal._append({"id": "key", "key": key})
            return journal
        return cls(path, key, entries)

    @property
    def resumed(self) -> int:
        """How many candidates the journal held when it was opened."""
        return sum(1 for k in self.entries if k not in ("key", _BEFORE))

    def before(self) -> CandidateVerdict | None:
        entry = self.entries.get(_BEFORE)
        return None if entry is None else _verdict(entry)

    def record_before(self, verdict: CandidateVerdict) -> None:
        self._append(
            {
                "id": _BEFORE,
                "passed": verdict.passed,
                "metrics": verdict.metrics,
                "summary": verdict.summary,
                "unsafe": verdict.unsafe,
            }
        )

    def finished(self, rung: str, params: dict[str, Any]) -> Candidate | None:
        """The recorded candidate (its directory only if it still exists)."""
        entry = self.entries.get(entry_id(rung, params))
        if entry is None:
            return None
        candidate = Candidate.from_dict(entry["candidate"])
        path = Path(entry["path"]) if entry.get("path") else None
        candidate.path = path if path is not None and path.is_dir() else None
        candidate.resumed = True
        if candidate.passed and candidate.path is None:
            return None  # its directory is gone: build and judge it again
        return candidate

    def record(self, proposed: dict[str, Any], candidate: Candidate) -> None:
        path = str(candidate.path) if candidate.passed and candidate.path else None
        self._append(
            {
                "id": entry_id(candidate.rung, proposed),
                "path": path,
                "candidate": candidate.as_dict(),
            }
        )

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """Entries by id; a line cut short by a kill is skipped."""
    if not path.is_file():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        entries[str(entry["id"])] = entry
    return entries


def _verdict(entry: dict[str, Any]) -> CandidateVerdict:
    return CandidateVerdict(
        bool(entry["passed"]),
        dict(entry["metrics"]),
        str(entry["summary"]),
        bool(entry.get("unsafe", False)),
    )
