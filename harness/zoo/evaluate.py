"""Measure a zoo model with the suites' pipeline (HF backend, keyword judge).

Three rates go into the manifest:

* ``harmful``: refusal rate on the held-out harmful requests (target ≥ 90%
  for smol-aligned);
* ``edgy``: refusal rate on the held-out benign-but-edgy requests, i.e.
  over-refusal (target ≤ 15%);
* ``over_rejection``: R_o, the refusal rate on the paper's over-rejection
  queries (paper §3.4.2), decoded for only a few tokens as the paper does.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import backends
from harness.backends import GenerationBackend
from harness.checkpoint import LoadOptions
from harness.corpus import (
    DataPrompt,
    benign_prompts,
    harmful_prompts,
    over_rejection_prompts,
    sample,
)
from harness.evaluation import PromptResult, evaluate
from harness.judges import Judge
from harness.judges.keyword import KeywordJudge
from harness.suites import PromptRecord
from harness.zoo.recipes import EvalSpec

#: Fixed so that the ci profile measures the same subset every time.
EVAL_SEED = 1234
SAMPLES_KEPT = 3


@dataclass(frozen=True)
class EvalSet:
    """A named prompt set and how long to decode it."""

    name: str
    prompts: list[DataPrompt]
    max_new_tokens: int


def eval_sets(spec: EvalSpec) -> list[EvalSet]:
    """The prompt sets a model is measured on, capped as ``spec`` says."""
    sets = [
        EvalSet(
            "harmful",
            sample(harmful_prompts("heldout"), spec.harmful, EVAL_SEED),
            spec.max_new_tokens,
        ),
        EvalSet(
            "edgy",
            sample(benign_prompts("heldout", ["edgy"]), spec.edgy, EVAL_SEED),
            spec.max_new_tokens,
        ),
        EvalSet(
            "over_rejection",
            sample(over_rejection_prompts(), spec.over_rejection, EVAL_SEED),
            spec.over_rejection_tokens,
        ),
    ]
    return [s for s in sets if s.prompts]


def evaluate_model(
    path: Path, spec: EvalSpec, name: str | None = None
) -> dict[str, Any]:
    """Return the refusal rates (counts, Wilson intervals) of the model at ``path``.

    ``name`` labels the progress lines (default: the directory's name; a build
    passes the model's, since it measures inside a hidden staging directory).
    """
    sets = eval_sets(spec)
    judge = KeywordJudge()
    metrics: dict[str, Any] = {}
    backend = backends.create_backend(
        "hf",
        str(path),
        backends.BackendSpec(LoadOptions(device="cpu"), batch_size=spec.batch_size),
    )
    with closing(backend):
        for eval_set in sets:
            metrics[eval_set.name] = _measure(
                backend, judge, eval_set, name or path.name
            )
    return metrics


def _measure(
    backend: GenerationBackend, judge: Judge, eval_set: EvalSet, subject: str
) -> dict[str, Any]:
    """Measure one set through the suites' pipeline (:mod:`harness.evaluation`)."""
    evaluation = evaluate(
        [_record(p, eval_set.name) for p in eval_set.prompts],
        backend,
        judge,
        suite=f"measuring {eval_set.name}",
        subject=subject,
        max_new_tokens=eval_set.max_new_tokens,
    )
    return {
        **evaluation.summary.as_dict(),
        "seconds": round(evaluation.timings["total_s"], 1),
        "max_new_tokens": eval_set.max_new_tokens,
        "samples": [_sample(r) for r in evaluation.results[:SAMPLES_KEPT]],
    }


def _record(prompt: DataPrompt, set_name: str) -> PromptRecord:
    return PromptRecord(
        id=prompt.id,
        category=prompt.category or set_name,
        prompt=prompt.prompt,
        source=prompt.source or "harness/corpus/data",
        licence=prompt.licence or "see harness/corpus/data/README.md",
    )


def _sample(result: PromptResult) -> dict[str, str]:
    return {
        "prompt": result.record.prompt,
        "response": result.response[:200],
        "verdict": result.judgement.verdict.value,
    }
