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
instead of generating them again, unless a conftest provides the backend.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from harness.config import RunSettings, Subject
    from harness.evaluation import Evaluation
    from harness.judges import Judge
    from harness.suites import Suite


def same_answers(config: pytest.Config, subject: Subject, baseline: Subject) -> bool:
    """Whether ``subject`` answers exactly as ``baseline``: the same weights
    (fingerprint) through the built-in backend (no conftest backend hook,
    which may treat the two differently)."""
    from harness.environment import checkpoint_fingerprint
    from plugins.fixtures import checkpoint_dir

    if backend_hooks(config):
        return False
    if subject.ref == baseline.ref:
        return True
    return checkpoint_fingerprint(checkpoint_dir(subject.ref)) == (
        checkpoint_fingerprint(checkpoint_dir(baseline.ref))
    )


def reused_evaluation(
    entry: dict[str, Any],
    settings: RunSettings,
    subject: Subject,
    suite: Suite,
    judge: Judge,
) -> Evaluation:
    """The subject's evaluation, made of the baseline's cached, judged answers.

    ``entry`` is the baseline's :func:`baseline_entry`. Only for a subject with
    :func:`same_answers`: greedy decoding of the same weights with the same
    settings gives the same text, so generating it again would only cost time.
    ``timings`` says ``reused_baseline_s``.
    """
    from harness.evaluation import Evaluation, PromptResult
    from harness.judges import Judgement, Verdict

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
        backend=entry.get("backend", settings.backend),
        judge=entry.get("judge", judge.name),
        template=entry.get("template", suite.config.template.value),
        results=results,
        timings={"reused_baseline_s": 0.0},
        example_count=suite.config.worst_examples,
    )


def baseline_entry(
    config: pytest.Config,
    settings: RunSettings,
    baseline: Subject,
    suite: Suite,
    judge: Judge,
) -> dict[str, Any]:
    """The baseline's cache entry for ``suite``: its results, as report dicts."""
    from harness.baseline_cache import BaselineCache, BaselineKey, settings_digest
    from harness.environment import checkpoint_fingerprint
    from plugins.fixtures import checkpoint_dir

    key = BaselineKey(
        fingerprint=checkpoint_fingerprint(checkpoint_dir(baseline.ref)),
        settings_digest=settings_digest(
            shaping_settings(settings, suite, judge)
            | {"backend_hooks": backend_hooks(config)}
        ),
        suite=suite.name,
    )

    def compute() -> dict[str, Any]:
        return _generate(config, settings, baseline, suite, judge)

    entry: dict[str, Any] = BaselineCache().get_or_compute(key, compute)
    return entry


def backend_hooks(config: pytest.Config) -> list[str]:
    """The plugins implementing ``pytest_safety_create_backend``, by name.

    A conftest's backend answers differently from the built-in one, so the
    plugins that may provide the backend are part of the cache key: a scripted
    or remote backend never shares cached answers with the real model's.
    """
    hook = config.pluginmanager.hook.pytest_safety_create_backend
    names = (
        config.pluginmanager.get_name(impl.plugin) for impl in hook.get_hookimpls()
    )
    return sorted(_portable(name) for name in names if name)


def _portable(name: str) -> str:
    # a conftest registers under its absolute path: keep the part under rootdir
    # stable across checkouts by its file name and parent folder only.
    parts = name.replace("\\", "/").rsplit("/", 2)
    return "/".join(parts[-2:])


def shaping_settings(
    settings: RunSettings, suite: Suite, judge: Judge
) -> dict[str, Any]:
    """What changes the baseline's answers; report paths and thresholds do not.

    Device and dtype are resolved (``auto`` means another thing on a GPU).
    """
    from harness.checkpoint import resolve_device
    from harness.precision import choose_dtype

    device = resolve_device(settings.device)
    prompts = json.dumps([(p.id, p.prompt) for p in suite.prompts]).encode()
    return {
        "prompts_sha256": hashlib.sha256(prompts).hexdigest(),
        "template": suite.config.template.value,
        "judge": judge.name,
        "judge_spec": suite.config.judge.model_dump() if suite.config.judge else None,
        "backend": settings.backend,
        "device": device,
        "dtype": choose_dtype(settings.dtype, device),
        "max_new_tokens": settings.max_new_tokens,
        "seed": settings.seed,
    }


def _generate(
    config: pytest.Config,
    settings: RunSettings,
    baseline: Subject,
    suite: Suite,
    judge: Judge,
) -> dict[str, Any]:
    from harness.evaluation import evaluate_suite
    from plugins.fixtures import create_backend
    from plugins.runner import terminal_progress

    with terminal_progress(config):
        backend = create_backend(config, baseline, settings)
        try:
            evaluation = evaluate_suite(
                suite,
                backend,
                judge,
                subject=baseline.name,
                max_new_tokens=settings.max_new_tokens,
                judge_wins=True,  # the subject's judge, already chosen
            )
        finally:
            backend.close()
    return {
        "subject": {"name": baseline.name, "ref": baseline.ref},
        "backend": evaluation.backend,
        "judge": evaluation.judge,
        "template": evaluation.template,
        "summary": evaluation.summary.as_dict(),
        "results": [r.as_dict() for r in evaluation.results],
    }
