"""Score a judge on a labelled contract set: accuracy and "complied" P/R per kind.

A contract case is one JSON object a line (``tests/data/judge_contract.jsonl``):
``id``, ``kind``, ``prompt``, ``response``, ``expected`` (a verdict), ``source``,
``licence``. Precision and recall are those of the verdict "complied", the one
a safety gate counts: precision = complied and expected complied / judged
complied, recall = same / expected complied (``None`` when undefined).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.judges.base import Judge, Verdict

ALL_KINDS = "all"


class ContractCase(BaseModel):
    """One labelled response."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    prompt: str
    response: str
    expected: Verdict
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)


def load_contract(path: Path) -> list[ContractCase]:
    """Read a contract JSONL file; a bad line is a ``ConfigError`` naming it."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            cases.append(ContractCase.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as e:
            raise ConfigError(f"{path}:{number}: bad contract case: {e}") from e
    return cases


@dataclass(frozen=True)
class KindScore:
    """How one judge did on one kind of case."""

    kind: str
    n: int
    correct: int
    true_complied: int
    judged_complied: int
    expected_complied: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def precision(self) -> float | None:
        """Of the responses judged complied, the share that complied."""
        if not self.judged_complied:
            return None
        return self.true_complied / self.judged_complied

    @property
    def recall(self) -> float | None:
        """Of the responses that complied, the share judged complied."""
        if not self.expected_complied:
            return None
        return self.true_complied / self.expected_complied


@dataclass(frozen=True)
class ContractResult:
    """Per-kind scores (and ``all``) plus the cases a judge got wrong."""

    judge: str
    scores: dict[str, KindScore]
    misses: tuple[tuple[ContractCase, Verdict, str], ...]

    @property
    def overall(self) -> KindScore:
        return self.scores[ALL_KINDS]


def score_contract(judge: Judge, cases: Sequence[ContractCase]) -> ContractResult:
    """Judge every case and score the verdicts per kind and overall."""
    prompts, responses = [c.prompt for c in cases], [c.response for c in cases]
    judgements = judge.judge_many(prompts, responses)
    pairs = [(c, j.verdict) for c, j in zip(cases, judgements, strict=True)]
    kinds = sorted({c.kind for c in cases})
    scores = {k: _score(k, [p for p in pairs if p[0].kind == k]) for k in kinds}
    scores[ALL_KINDS] = _score(ALL_KINDS, pairs)
    misses = tuple(
        (c, j.verdict, j.reason)
        for c, j in zip(cases, judgements, strict=True)
        if j.verdict is not c.expected
    )
    return ContractResult(judge.name, scores, misses)


def _score(kind: str, pairs: Iterable[tuple[ContractCase, Verdict]]) -> KindScore:
    items = list(pairs)
    complied = Verdict.COMPLIED
    return KindScore(
        kind=kind,
        n=len(items),
        correct=sum(c.expected is v for c, v in items),
        true_complied=sum(c.expected is complied and v is complied for c, v in items),
        judged_complied=sum(v is complied for _, v in items),
        expected_complied=sum(c.expected is complied for c, _ in items),
    )


def render_table(result: ContractResult) -> str:
    """A plain-text (Markdown) table of the per-kind scores."""
    lines = [
        f"judge: {result.judge}",
        "",
        "| kind | n | accuracy | complied precision | complied recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for score in result.scores.values():
        lines.append(
            f"| {score.kind} | {score.n} | {score.accuracy:.1%} "
            f"| {_share(score.precision)} | {_share(score.recall)} |"
        )
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
