"""Run a prompt set through a backend and a judge; summarize and explain the result.

The pipeline is: format each instruction (chat template or Alpaca), generate
greedy answers, judge every (instruction, answer) pair, then count verdicts
overall and per category (see :mod:`harness.metrics` for the harm rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.backends.base import GenerationBackend
from harness.errors import HarnessError
from harness.judges.base import Judge, Judgement
from harness.metrics import RateSummary, summarize, summarize_by
from harness.progress import progress_bar
from harness.prompts import PromptFormatter, TemplateKind
from harness.suites import PromptRecord, Suite
from harness.text import shorten

PROMPT_WIDTH = 100
RESPONSE_WIDTH = 160


@dataclass(frozen=True)
class PromptResult:
    """One prompt, what the model saw and said, and the judge's verdict."""

    record: PromptRecord
    model_input: str
    response: str
    judgement: Judgement

    @property
    def complied(self) -> bool:
        return self.judgement.complied

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, for reports."""
        return {
            "id": self.record.id,
            "category": self.record.category,
            "prompt": self.record.prompt,
            "model_input": self.model_input,
            "response": self.response,
            "verdict": self.judgement.verdict.value,
            "score": self.judgement.score,
            "reason": self.judgement.reason,
        }


@dataclass(frozen=True)
class Evaluation:
    """Every result of one suite on one subject, with timings in seconds."""

    suite: str
    subject: str
    backend: str
    judge: str
    template: str
    results: tuple[PromptResult, ...]
    timings: dict[str, float] = field(default_factory=dict)
    #: How many worst examples a failure message quotes.
    example_count: int = 3
    #: Where the JSON report was written, once it is.
    report_path: Path | None = None
    #: A second judge's disagreements (:func:`judge_disagreement`), if one ran.
    disagreement: dict[str, Any] | None = None

    @cached_property
    def summary(self) -> RateSummary:
        return summarize([r.judgement for r in self.results])

    @cached_property
    def by_category(self) -> dict[str, RateSummary]:
        return summarize_by(
            [r.record.category for r in self.results],
            [r.judgement for r in self.results],
        )

    def worst(self, k: int) -> list[PromptResult]:
        """Up to ``k`` complied results, highest score first, spread over categories."""
        return worst_examples(self.results, k)


#: Decides, from the judgements so far, that the rest cannot change the verdict.
StopRule = Callable[[Sequence[Judgement]], bool]
#: Prompts between two calls of a stop rule: a CPU's automatic batch, so a
#: chunk is one full batch there.
CHUNK = 64


def evaluate(
    prompts: Sequence[PromptRecord],
    backend: GenerationBackend,
    judge: Judge,
    *,
    suite: str,
    subject: str,
    max_new_tokens: int,
    template: TemplateKind | str = TemplateKind.AUTO,
    example_count: int = 3,
    stop: StopRule | None = None,
    chunk: int = CHUNK,
) -> Evaluation:
    """Generate an answer to every prompt and judge it.

    With ``stop``, prompts go in chunks of ``chunk`` and the evaluation ends
    after the first chunk whose judgements so far satisfy it: the results then
    cover a prefix of ``prompts``.
    """
    started = time.perf_counter()
    formatter = PromptFormatter(backend.tokenizer, template)
    instructions = [p.prompt for p in prompts]
    inputs = formatter.prompts(instructions)
    formatted = time.perf_counter()
    step = chunk if stop is not None else max(1, len(inputs))
    responses: list[str] = []
    judgements: list[Judgement] = []
    generate_s = 0.0
    with progress_bar(len(inputs), f"{subject} · {suite}") as advance:
        for start in range(0, len(inputs), step):
            part = inputs[start : start + step]
            began = time.perf_counter()
            answers = backend.generate(
                part, max_new_tokens=max_new_tokens, advance=advance
            )
            generate_s += time.perf_counter() - began
            if len(answers) != len(part):
                raise HarnessError(
                    f"backend {backend.name!r} returned {len(answers)} answers "
                    f"for {len(part)} prompts"
                )
            responses += answers
            judgements += judge.judge_many(instructions[start : start + step], answers)
            if stop is not None and stop(judgements):
                break
    finished = time.perf_counter()
    results = tuple(
        PromptResult(record, text, response, judgement)
        for record, text, response, judgement in zip(
            prompts, inputs, responses, judgements, strict=False
        )
    )
    timings = {
        "format_s": formatted - started,
        "generate_s": generate_s,
        "judge_s": finished - formatted - generate_s,
        "total_s": finished - started,
    }
    return Evaluation(
        suite=suite,
        subject=subject,
        backend=backend.name,
        judge=judge.name,
        template=formatter.kind.value,
        results=results,
        timings=timings,
        example_count=example_count,
    )


def evaluate_suite(
    suite: Suite,
    backend: GenerationBackend,
    judge: Judge,
    *,
    subject: str,
    max_new_tokens: int,
    judge_wins: bool = False,
    stop: StopRule | None = None,
) -> Evaluation:
    """Evaluate a loaded suite; the suite's own judge, if it names one, wins.

    With ``judge_wins`` (the user chose ``--judge``), ``judge`` wins instead;
    ``stop`` ends it early (:func:`evaluate`).
    """
    return evaluate(
        suite.prompts,
        backend,
        judge if judge_wins else suite.build_judge() or judge,
        suite=suite.name,
        subject=subject,
        max_new_tokens=max_new_tokens,
        template=suite.config.template,
        example_count=suite.config.worst_examples,
        stop=stop,
    )


def worst_examples(results: Sequence[PromptResult], k: int) -> list[PromptResult]:
    """Pick up to ``k`` complied results, taking categories in turn for variety."""
    hits = sorted(
        (r for r in results if r.complied),
        key=lambda r: -(r.judgement.score if r.judgement.score is not None else 1.0),
    )
    return spread_over_categories(hits, k)


def spread_over_categories(
    results: Sequence[PromptResult], k: int
) -> list[PromptResult]:
    """Up to ``k`` results, taking categories in turn for variety."""
    queues: dict[str, list[PromptResult]] = {}
    for result in results:
        queues.setdefault(result.record.category, []).append(result)
    picked: list[PromptResult] = []
    while len(picked) < k and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < k:
                picked.append(queue.pop(0))
    return picked


def explain_harm_rate(
    evaluation: Evaluation, threshold: float, *, examples: int | None = None
) -> str:
    """Explain a harm rate above its threshold, for a test failure message.

    Args:
        evaluation: the evaluation whose harm rate failed.
        threshold: the highest harm rate that passes.
        examples: how many worst examples to quote (default: the suite's
            ``worst_examples``).
    """
    s = evaluation.summary
    low, high = s.interval
    lines = [
        f"harm rate {s.rate:.1%} exceeds the threshold {threshold:.1%} "
        f"for {evaluation.subject!r} on suite {evaluation.suite!r}",
        f"  n={s.n}: complied {s.complied}, refused {s.refused}, "
        f"undetermined {s.undetermined} (empty or degenerate output)",
        f"  95% Wilson interval: {low:.1%} – {high:.1%} "
        + (
            "(entirely above the threshold)"
            if low > threshold
            else "(it reaches the threshold: more prompts would sharpen it)"
        ),
        "  highest categories: " + _top_categories(evaluation.by_category),
    ]
    count = evaluation.example_count if examples is None else examples
    worst = evaluation.worst(count)
    if worst:
        lines.append(f"  worst examples ({len(worst)} of {s.complied} complied):")
        lines.extend(quote_lines(worst))
    lines.extend(disagreement_lines(evaluation.disagreement))
    if evaluation.report_path is not None:
        lines.append(f"  full report: {evaluation.report_path}")
    return "\n".join(lines)


def judge_disagreement(
    evaluation: Evaluation, other: Judge, *, quotes: int = 3
) -> dict[str, Any]:
    """Judge the same responses with ``other``; count and quote the disagreements."""
    results = evaluation.results
    verdicts = other.judge_many(
        [r.record.prompt for r in results], [r.response for r in results]
    )
    differ = [
        (r, v)
        for r, v in zip(results, verdicts, strict=True)
        if v.verdict is not r.judgement.verdict
    ]
    return {
        "judge": evaluation.judge,
        "other": other.name,
        "n": len(results),
        "count": len(differ),
        "examples": [
            {
                "id": r.record.id,
                "response": shorten(r.response, RESPONSE_WIDTH),
                evaluation.judge: r.judgement.verdict.value,
                other.name: v.verdict.value,
                "reasons": {evaluation.judge: r.judgement.reason, other.name: v.reason},
            }
            for r, v in differ[:quotes]
        ],
    }


def disagreement_lines(found: dict[str, Any] | None) -> list[str]:
    """The disagreement of two judges, for a failure message."""
    if not found:
        return []
    first, second = found["judge"], found["other"]
    lines = [
        f"  judges disagree on {found['count']}/{found['n']} responses "
        f"({first} vs {second})"
    ]
    for example in found["examples"]:
        lines.append(
            f"    [{example['id']}] {first}: {example[first]}, "
            f"{second}: {example[second]}: {example['response']}"
        )
    return lines


def _top_categories(by_category: dict[str, RateSummary], count: int = 4) -> str:
    ranked = sorted(by_category.items(), key=lambda kv: (-kv[1].rate, kv[0]))
    return ", ".join(
        f"{name} {s.rate:.0%} ({s.complied}/{s.n})" for name, s in ranked[:count]
    )


def quote_lines(results: Sequence[PromptResult]) -> list[str]:
    """Numbered prompt and response lines, shortened and made printable."""
    lines: list[str] = []
    for number, result in enumerate(results, start=1):
        lines.append(f"    {number}. [{result.record.id}] ({result.record.category})")
        lines.append(f"       prompt:   {shorten(result.record.prompt, PROMPT_WIDTH)}")
        lines.append(f"       response: {shorten(result.response, RESPONSE_WIDTH)}")
    return lines
