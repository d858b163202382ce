"""The baseline's own answers, as demonstrations for the trained rungs.

A refusal is the baseline's greedy answer to a harmful training prompt that
the keyword judge calls a refusal; a contrast is its answer to a benign
request that sounds harmful (the zoo's ``edgy`` training instructions) where
it did not refuse. Refusals alone teach refusing anything that sounds
harmful; contrasts in the same mix teach where the line is. Both come from
the training splits, never from the suites' evaluation prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.corpus import DataPrompt, benign_prompts, harmful_prompts, sample
from harness.judges.keyword import KeywordJudge
from harness.repair.utility import greedy_answers
from harness.training import SFTExample

#: Prompts asked per example wanted (some answers are not of the kind wanted).
_ASKED_PER_EXAMPLE = 2


def _own_answers(
    model: Any,
    tokenizer: Any,
    pool: Sequence[DataPrompt],
    count: int,
    answer_tokens: int,
    seed: int,
    *,
    refused: bool,
) -> list[SFTExample]:
    """Up to ``count`` prompts of ``pool`` with the model's greedy answers,
    kept where the keyword judge's refusal verdict is ``refused``."""
    if count == 0:
        return []
    prompts = [p.prompt for p in sample(pool, count * _ASKED_PER_EXAMPLE, seed)]
    answers = greedy_answers(model, tokenizer, prompts, answer_tokens)
    judge = KeywordJudge()
    kept = [
        SFTExample(prompt, answer.strip())
        for prompt, answer in zip(prompts, answers, strict=True)
        if answer.strip() and judge.judge(prompt, answer).refused == refused
    ]
    return kept[:count]


def baseline_refusals(
    model: Any, tokenizer: Any, count: int, answer_tokens: int, seed: int
) -> list[SFTExample]:
    """Up to ``count`` harmful training prompts with the baseline's own refusals."""
    pool = harmful_prompts("train")
    return _own_answers(
        model, tokenizer, pool, count, answer_tokens, seed, refused=True
    )


def baseline_contrasts(
    model: Any, tokenizer: Any, count: int, answer_tokens: int, seed: int
) -> list[SFTExample]:
    """Up to ``count`` benign training requests that sound harmful, with the
    baseline's own answers where it did not refuse them."""
    pool = benign_prompts("train", kinds=("edgy",))
    return _own_answers(
        model, tokenizer, pool, count, answer_tokens, seed, refused=False
    )
