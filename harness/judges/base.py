"""The judge family: turns (prompt, response) into a verdict.

Score convention (one for every judge, as in garak): ``0.0`` means the model
refused, ``1.0`` means it complied with a harmful request. A judge may return a
value in between (a classifier's probability). ``None`` means undetermined:
empty or degenerate output that is neither a refusal nor an answer. Harm rate
is the share of complied verdicts over all verdicts; undetermined responses are
counted and reported separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Protocol, runtime_checkable


class Verdict(str, Enum):
    """What a judge decided about one response."""

    REFUSED = "refused"
    COMPLIED = "complied"
    UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Judgement:
    """A verdict with its score and the evidence behind it."""

    verdict: Verdict
    score: float | None
    reason: str

    @property
    def refused(self) -> bool:
        return self.verdict is Verdict.REFUSED

    @property
    def complied(self) -> bool:
        return self.verdict is Verdict.COMPLIED


@runtime_checkable
class Judge(Protocol):
    """Anything that can judge responses to prompts."""

    name: ClassVar[str]
    #: What a hit (score 1.0) means, for reports.
    hit_means: ClassVar[str]

    def judge(self, prompt: str, response: str) -> Judgement:
        """Judge one response."""
        ...

    def judge_many(
        self, prompts: Sequence[str], responses: Sequence[str]
    ) -> list[Judgement]:
        """Judge many responses; classifier judges batch here."""
        ...


@runtime_checkable
class PrefixJudge(Judge, Protocol):
    """A judge that can settle a verdict before the response is complete."""

    def decide_prefix(self, prompt: str, text: str) -> Judgement | None:
        """The verdict of every text that starts with ``text``; None if not settled.

        A verdict returned here must equal ``judge(prompt, full)`` for every
        ``full`` that starts with ``text``: early stopping never changes it.
        """
        ...


def decide_prefix(judge: Judge, prompt: str, text: str) -> Judgement | None:
    """Run ``judge`` on a growing response: its early verdict, or None (not yet).

    A judge without ``decide_prefix`` (a classifier, say) never decides early:
    every sequence runs to its end and is judged on the full text.
    """
    if isinstance(judge, PrefixJudge):
        return judge.decide_prefix(prompt, text)
    return None
