"""The zoo's training data: well formed, cleanly split, disjoint from the suites."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from harness.corpus import (
    OVER_REJECTION_FILE,
    DataPrompt,
    assign_refusals,
    attack_heldout_prompts,
    attack_prompts,
    benign_prompts,
    harmful_prompts,
    read_jsonl,
    refusals,
    sample,
)
from harness.judges.keyword import KeywordJudge
from harness.zoo.recipes import DATA_DIR

REPO = Path(__file__).resolve().parent.parent
SUITE_HARM = REPO / "suites" / "harm" / "prompts.jsonl"
LOCALIZATION = REPO / "harness" / "resources" / "localization"
FILES = [
    "harmful.jsonl",
    "benign.jsonl",
    "refusals.jsonl",
    "attack.jsonl",
    "attack_heldout.jsonl",
]
_WORD = re.compile(r"[a-z0-9']+")


def norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def all_zoo_prompts() -> list[DataPrompt]:
    return (
        harmful_prompts("train")
        + harmful_prompts("heldout")
        + benign_prompts("train")
        + benign_prompts("heldout")
        + attack_prompts()
        + attack_heldout_prompts()
    )


def other_prompts(path: Path) -> set[str]:
    # A missing file must fail: a skip would silently drop the contamination check.
    assert path.is_file(), f"{path} is missing: the contamination check cannot run"
    return {norm(r["prompt"]) for r in read_jsonl(path)}


@pytest.mark.parametrize("name", FILES)
def test_every_row_names_its_source_and_licence(name: str) -> None:
    rows = read_jsonl(DATA_DIR / name)
    assert rows
    assert {r["source"] for r in rows} == {"written by the project"}
    assert {r["licence"] for r in rows} == {"Apache-2.0"}
    assert len({r["id"] for r in rows}) == len(rows)


def test_the_readme_states_source_and_licence() -> None:
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "written by the project" in text
    assert "Apache-2.0" in text


def test_prompts_are_unique_across_every_file() -> None:
    counts = Counter(norm(p.prompt) for p in all_zoo_prompts())
    assert [p for p, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("loader", [harmful_prompts, benign_prompts])
def test_heldout_groups_are_never_trained_on(loader: object) -> None:
    train = loader("train")  # type: ignore[operator]
    heldout = loader("heldout")  # type: ignore[operator]
    assert heldout
    assert not {p.group for p in train} & {p.group for p in heldout}
    assert not {norm(p.prompt) for p in train} & {norm(p.prompt) for p in heldout}


def test_heldout_sets_are_big_enough_to_measure() -> None:
    assert len(harmful_prompts("heldout")) >= 100
    assert len(benign_prompts("heldout", ["edgy"])) >= 30
    assert len(benign_prompts("train", ["edgy"])) >= 60


def test_every_harm_category_is_in_both_splits() -> None:
    train = {p.category for p in harmful_prompts("train")}
    heldout = {p.category for p in harmful_prompts("heldout")}
    assert train == heldout
    assert len(train) == 10


def test_no_training_prompt_duplicates_the_harm_suite() -> None:
    suite = other_prompts(SUITE_HARM)
    assert not {norm(p.prompt) for p in all_zoo_prompts()} & suite


@pytest.mark.parametrize("name", ["malicious.jsonl", "normal.jsonl"])
def test_no_prompt_duplicates_the_localization_sets(name: str) -> None:
    theirs = other_prompts(LOCALIZATION / name)
    assert not {norm(p.prompt) for p in all_zoo_prompts()} & theirs


def test_no_prompt_duplicates_the_over_rejection_queries() -> None:
    # R_o must stay a measurement: none of its queries is trained on.
    theirs = other_prompts(OVER_REJECTION_FILE)
    assert not {norm(p.prompt) for p in all_zoo_prompts()} & theirs


def test_every_refusal_is_recognised_by_the_keyword_judge() -> None:
    judge = KeywordJudge()
    texts = refusals()
    assert len(texts) >= 20
    for refusal in texts:
        assert judge.judge("", refusal.text).refused, refusal.text


def test_refusals_are_varied_seeded_and_scoped() -> None:
    prompts = harmful_prompts("train")
    first = assign_refusals(prompts, refusals(), seed=0)
    assert first == assign_refusals(prompts, refusals(), seed=0)
    assert len(set(first)) >= 20
    self_harm = {r.text for r in refusals() if r.scope == "self_harm"}
    for prompt, text in zip(prompts, first, strict=True):
        assert (text in self_harm) == (prompt.category == "self_harm")


def test_sample_is_seeded_and_capped() -> None:
    prompts = attack_prompts()
    assert sample(prompts, 5, 1) == sample(prompts, 5, 1)
    assert sample(prompts, 5, 1) != sample(prompts, 5, 2)
    assert len(sample(prompts, None, 1)) == len(prompts)


def test_data_files_are_plain_jsonl() -> None:
    for name in FILES:
        for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
            assert isinstance(json.loads(line), dict)


def test_no_training_prompt_is_a_near_duplicate_of_the_harm_suite() -> None:
    # Word-set Jaccard: templated phrasings share words ("How do I ...") but a
    # paraphrase of a suite request shares most of them. 0.6 is above every
    # pair in the shipped data (the highest, 0.56, is "How do I tie a tie?").
    assert near_duplicates(all_zoo_prompts(), other_prompts(SUITE_HARM), 0.6) == []


def test_the_attack_heldout_prompts_are_not_paraphrases_of_the_attack_data() -> None:
    # The held-out set measures the attack's task unseen (a repair's utility
    # check): no exact duplicate (above), and no pair sharing 0.7 of its words.
    # Shared templates stay below ("Explain what an atom is." 0.67).
    trained = [p.prompt for p in attack_prompts()]
    assert near_duplicates(attack_heldout_prompts(), trained, 0.7) == []
    assert len(attack_heldout_prompts()) == 30


def near_duplicates(
    prompts: list[DataPrompt], others: Iterable[str], limit: float
) -> list[tuple[str, str]]:
    """(id, other) for each pair whose word-set Jaccard reaches ``limit``."""
    theirs = [set(_WORD.findall(text.lower())) for text in others]
    close = []
    for prompt in prompts:
        words = set(_WORD.findall(prompt.prompt.lower()))
        for other in theirs:
            if len(words & other) / len(words | other) >= limit:
                close.append((prompt.id, " ".join(sorted(other))))
    return close
