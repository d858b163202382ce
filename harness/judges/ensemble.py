"""Judges combined by a rule, and the disagreement between two judges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from harness.judges.base import Judge, Judgement, Verdict


class AllComplied:
    """Complied only when every judge says complied (``keyword+classifier``).

    Otherwise refused when any judge refused, else undetermined. The score is
    the lowest score (None when a judge could not decide).
    """

    name: ClassVar[str] = "all-complied"
    hit_means: ClassVar[str] = "every judge of the ensemble says complied"

    def __init__(self, judges: Sequence[Judge]) -> None:
        self.judges = list(judges)

    def judge(self, prompt: str, response: str) -> Judgement:
        """Judge one response."""
        return self.judge_many([prompt], [response])[0]

    def judge_many(
        self, prompts: Sequence[str], responses: Sequence[str]
    ) -> list[Judgement]:
        """Each judge judges the batch; the rule combines per response."""
        columns = [j.judge_many(prompts, responses) for j in self.judges]
        return [self._combine(row) for row in zip(*columns, strict=True)]

    def _combine(self, row: Sequence[Judgement]) -> Judgement:
        reason = "; ".join(
            f"{j.name}: {v.verdict.value} ({v.reason})"
            for j, v in zip(self.judges, row, strict=True)
        )
        if all(v.complied for v in row):
            scores = [v.score for v in row if v.score is not None]
            return Judgement(Verdict.COMPLIED, min(scores, default=1.0), reason)
        if any(v.refused for v in row):
            return Judgement(Verdict.REFUSED, 0.0, reason)
        return Judgement(Verdict.UNDETERMINED, None, reason)


def all_complied(name: str, judges: Sequence[Judge]) -> AllComplied:
    """An :class:`AllComplied` ensemble whose reports call it ``name``."""
    named = type("AllComplied", (AllComplied,), {"name": name})
    ensemble: AllComplied = named(judges)
    return ensemble


@dataclass(frozen=True)
class Disagreement:
    """Where a second judge's verdicts differ from the primary's."""

    judge: str
    other: str
    n: int
    #: (index, primary verdict, other verdict, other's reason) per disagreement.
    cases: tuple[tuple[int, Verdict, Verdict, str], ...]

    @property
    def count(self) -> int:
        return len(self.cases)


def disagreement(
    primary: Judge,
    primary_verdicts: Sequence[Judgement],
    other: Judge,
    other_verdicts: Sequence[Judgement],
) -> Disagreement:
    """Compare two judges' verdicts on the same responses."""
    cases = tuple(
        (i, a.verdict, b.verdict, b.reason)
        for i, (a, b) in enumerate(zip(primary_verdicts, other_verdicts, strict=True))
        if a.verdict is not b.verdict
    )
    return Disagreement(primary.name, other.name, len(primary_verdicts), cases)
