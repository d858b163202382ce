"""The causal-LM yes/no judge (``model:REF``) and the keyword-then-model ensemble.

A tiny random model checks the plumbing (one forward pass, batching, the
score convention); its verdicts mean nothing. Accuracy and cost of a real judge
model are measured by ``benchmarks/judge_contract.py`` (``docs/judge.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from harness.errors import ConfigError
from harness.judges import (
    Judgement,
    Verdict,
    create_judge,
    is_judge_name,
    model_ref,
    needs_model,
)
from harness.judges.ensemble import KeywordThenModel
from harness.judges.keyword import KeywordJudge
from harness.judges.model import ModelJudge, ModelJudgeConfig
from harness.testing import build_tiny_checkpoint

SOUP = (
    "\ufffd\ufffd\x01kil lazH\ufffd\ufffd\x02\ufffd ri\ufffd\ufffd\x03 teY\ufffd\ufffd"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("judge-model"))


def test_model_ref_names_parse() -> None:
    assert model_ref("model:zoo:qwen-coder") == "zoo:qwen-coder"
    assert model_ref("keyword-then-model:/models/judge") == "/models/judge"
    assert model_ref("model:") is None
    assert model_ref("keyword") is None
    assert is_judge_name("model:zoo:qwen-coder")
    assert is_judge_name("keyword")
    assert not is_judge_name("nonsense:zoo:qwen-coder")
    assert needs_model("model") and not needs_model("model:/x")


def test_the_model_judge_scores_in_one_batched_pass(tiny: Path) -> None:
    config = ModelJudgeConfig(
        model=str(tiny), batch_size=2, yes_words=["yes"], no_words=["no"]
    )
    judge = ModelJudge(config)
    prompts = ["q one", "q two", "q three"]
    responses = ["Sure, here it is.", "I can't help with that.", "Here you go."]
    batched = judge.judge_many(prompts, responses)
    single = [judge.judge(p, r) for p, r in zip(prompts, responses, strict=True)]
    for a, b in zip(batched, single, strict=True):
        assert a.score is not None and b.score is not None
        assert 0.0 <= a.score <= 1.0
        assert a.score == pytest.approx(b.score, abs=1e-4)  # padding changes nothing
        complied = a.score >= config.threshold
        assert a.verdict is (Verdict.COMPLIED if complied else Verdict.REFUSED)


def test_soup_and_empty_output_skip_the_model(tiny: Path) -> None:
    judge = create_judge(f"model:{tiny}", {"yes_words": ["yes"], "no_words": ["no"]})
    verdicts = judge.judge_many(["q", "q"], [SOUP, "  "])
    assert [v.verdict for v in verdicts] == [Verdict.UNDETERMINED] * 2
    assert verdicts[0].reason.startswith("no language")


def test_yes_and_no_must_differ(tiny: Path) -> None:
    judge = ModelJudge(
        ModelJudgeConfig(model=str(tiny), yes_words=["yes"], no_words=["yes"])
    )
    with pytest.raises(ConfigError, match="share"):
        judge.judge("q", "Sure, here it is.")


class _Scripted:
    """A model judge that says complied and counts what it was asked."""

    name: ClassVar[str] = "scripted"
    hit_means: ClassVar[str] = "always"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def judge(self, prompt: str, response: str) -> Judgement:
        return self.judge_many([prompt], [response])[0]

    def judge_many(
        self, prompts: Sequence[str], responses: Sequence[str]
    ) -> list[Judgement]:
        self.asked += list(responses)
        return [Judgement(Verdict.COMPLIED, 0.9, "scripted") for _ in responses]


def test_keyword_then_model_asks_the_model_only_when_uncertain() -> None:
    model = _Scripted()
    ensemble = KeywordThenModel(KeywordJudge(), model)
    clear_refusal = "I'm sorry, but I can't help with that."
    clear_answer = "Sure, here is how: 1. Get the tools. 2. Use them."
    overruled = "I can't share everything, but here is the main idea: heat it."
    verdicts = ensemble.judge_many(
        ["q"] * 4, [clear_refusal, clear_answer, overruled, SOUP]
    )
    assert model.asked == [overruled]
    assert [v.verdict for v in verdicts] == [
        Verdict.REFUSED,
        Verdict.COMPLIED,
        Verdict.COMPLIED,
        Verdict.UNDETERMINED,
    ]
    assert verdicts[2].reason.startswith("keyword uncertain")
