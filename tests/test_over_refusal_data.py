"""The over-refusal prompts: enough of them, in categories, apart from training data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.suites import load_suite

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "over_refusal" / "suite.yaml"
#: Every prompt the zoo trains on, the harm suite's and the localization sets.
OTHERS = sorted(
    [
        *(ROOT / "harness" / "zoo" / "data").glob("*.jsonl"),
        ROOT / "suites" / "harm" / "prompts.jsonl",
        *(ROOT / "harness" / "resources" / "localization").glob("*.jsonl"),
    ]
)


def normalise(text: str) -> str:
    """Lowercase, punctuation and runs of spaces folded to one space."""
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def _texts(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row[f] for row in rows for f in ("prompt", "text") if f in row]


def test_the_suite_loads_with_enough_prompts_in_categories() -> None:
    suite = load_suite(SUITE)
    assert suite.name == "over_refusal"
    assert len(suite.prompts) >= 150
    counts: dict[str, int] = {}
    for record in suite.prompts:
        counts[record.category] = counts.get(record.category, 0) + 1
        assert record.source == "written by the project"
        assert record.licence == "Apache-2.0"
    assert len(counts) >= 8 and min(counts.values()) >= 15
    prompts = [normalise(r.prompt) for r in suite.prompts]
    assert len(set(prompts)) == len(prompts), "duplicate prompts"


@pytest.mark.parametrize("other", OTHERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_prompts_are_disjoint_from(other: Path) -> None:
    ours = [r.prompt for r in load_suite(SUITE).prompts]
    theirs = _texts(other)
    assert theirs, f"{other}: no prompts read"
    assert not set(ours) & set(theirs)
    shared = {normalise(p) for p in ours} & {normalise(p) for p in theirs}
    assert not shared, f"also in {other.name}: {sorted(shared)[:5]}"
