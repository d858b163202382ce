"""The baseline's answers to a suite, computed once and shared.

Entries live in :class:`harness.baseline_cache.BaselineCache`
(``$SAFETY_HARNESS_BASELINE_DIR``, else the user cache directory), keyed by the
baseline's weights fingerprint, a digest of the settings that shape its
answers, and the suite. Under ``pytest -n 2`` one worker generates while the
others wait on the file lock and then read, so a baseline is run once per
fingerprint and settings, across runs, subjects and workers.

A subject with the baseline's weights (the README's main command tests
``zoo:smol-aligned`` against itself) answers as the baseline does, greedily,
with the same settings: :func:`reused_evaluation` gives it the cached answers
instead of generating them again, unless a backend hook provides backends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from harness.baseline_cache import BaselineCache, BaselineKey, settings_digest
from harness.checkpoint import resolve_device
from harness.config import RunSettings, Subject
from harness.evaluation import Evaluation, PromptResult
from harness.judges import Judge, Judgement, Verdict
from harness.localization.reuse import fingerprint_once
from harness.precision import choose_dtype
from harness.suites import Suite
from harness.zoo import resolve_ref


def same_weights(subject: Subject, baseline: Subject) -> bool:
    """Whether ``subject`` and ``baseline`` name the same weights."""
    if subject.ref == baseline.ref:
        return True
    return fingerprint_once(resolve_ref(subject.ref)) == (
        fingerprint_once(resolve_ref(baseline.ref))
    )


def shaping_settings(
    settings: RunSettings, suite: Suite, judge: Judge, backend: str
) -> dict[str, Any]:
    """What changes the baseline's answers; report paths and thresholds do not.

    Device and dtype are resolved (``auto`` means another thing on a GPU).
    """
    device = resolve_device(settings.device)
    prompts = json.dumps([(p.id, p.prompt) for p in suite.prompts]).encode()
    return {
        "prompts_sha256": hashlib.sha256(prompts).hexdigest(),
        "template": suite.config.template.value,
        "judge": judge.name,
        "judge_spec": suite.config.judge.model_dump() if suite.config.judge else None,
        "backend": backend,
        "device": device,
        "dtype": choose_dtype(settings.dtype, device),
        "batch_size": settings.batch_size,
        "max_new_tokens": settings.max_new_tokens,
        "seed": settings.seed,
    }


def baseline_entry(
    baseline: Subject,
    key_settings: dict[str, Any],
    suite: Suite,
    compute: Callable[[], Evaluation],
) -> dict[str, Any]:
    """The baseline's cache entry for ``suite``: its results, as report dicts."""
    key = BaselineKey(
        fingerprint=fingerprint_once(resolve_ref(baseline.ref)),
        settings_digest=settings_digest(key_settings),
        suite=suite.name,
    )

    def entry() -> dict[str, Any]:
        evaluation = compute()
        return {
            "subject": {"name": baseline.name, "ref": baseline.ref},
            "backend": evaluation.backend,
            "judge": evaluation.judge,
            "template": evaluation.template,
            "summary": evaluation.summary.as_dict(),
            "results": [r.as_dict() for r in evaluation.results],
        }

    found: dict[str, Any] = BaselineCache().get_or_compute(key, entry)
    return found


def reused_evaluation(
    entry: dict[str, Any], subject: Subject, suite: Suite, judge: Judge
) -> Evaluation:
    """The subject's evaluation, made of the baseline's cached, judged answers.

    Only for a subject with :func:`same_weights`: greedy decoding of the same
    weights with the same settings gives the same text, so generating it again
    would only cost time. ``timings`` says ``reused_baseline_s``.
    """
    records = {p.id: p for p in suite.prompts}
    results = tuple(
        PromptResult(
            records[r["id"]],
            r["model_input"],
            r["response"],
            Judgement(Verdict(r["verdict"]), r["score"], r["reason"]),
        )
        for r in entry["results"]
    )
    return Evaluation(
        suite=suite.name,
        subject=subject.name,
        backend=entry["backend"],
        judge=entry.get("judge", judge.name),
        template=entry.get("template", suite.config.template.value),
        results=results,
        timings={"reused_baseline_s": 0.0},
        example_count=suite.config.worst_examples,
    )
