"""The gate engine: run a prompt suite on a subject and decide its verdict.

:class:`GateEngine` is the one place where a prompt suite (harm,
over-refusal) is loaded, generated, judged, compared with the baseline and
decided. The pytest plugin calls it for every test; the repair ladder calls it
for every candidate (:mod:`harness.repair.candidates`), with the same
:class:`~harness.gate.settings.GateSettings`, so a rule changes in one place.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import (
    BackendChoice,
    BackendPool,
    BackendSpec,
    GenerationBackend,
    choose_backend,
    create_backend,
)
from harness.checkpoint import ZOO_PREFIX, resolve_device
from harness.config import RunSettings, Subject
from harness.evaluation import (
    CHUNK,
    Evaluation,
    StopRule,
    evaluate_suite,
    judge_disagreement,
)
from harness.gate.baseline import (
    baseline_entry,
    reused_evaluation,
    same_weights,
    shaping_settings,
)
from harness.gate.records import finite, prompt_entry
from harness.gate.rules import GateResult, judge_suite
from harness.gate.sequential import SequentialRule, shuffled
from harness.gate.settings import GateSettings, SuiteCheck
from harness.io import write_json_atomic
from harness.judges import Judge, Judgement, Verdict, create_judge
from harness.paired import Answer, answers_from_results
from harness.reports import build_report, report_path
from harness.suites import Suite, load_suite
from harness.zoo import resolve_ref

#: The judge of a suite that names none, when ``--judge`` is not given.
DEFAULT_JUDGE = "keyword"


@dataclass(frozen=True)
class SuiteOutcome:
    """A suite's verdict on one subject, with everything behind it."""

    suite: str
    subject: str
    passed: bool
    #: Why it failed, one paragraph per rule broken (empty when it passed).
    message: str
    evaluation: Evaluation | None = None
    gate: GateResult | None = None
    #: The summary record: terminal table, JUnit properties, HTML pieces.
    record: dict[str, Any] = field(default_factory=dict)
    report_path: Path | None = None
    #: Prompts judged, of how many (fewer: stopped once the failure was certain).
    judged: int = 0
    total: int = 0
    #: Set when there was nothing to decide (the caller skips).
    skipped: str | None = None

    @property
    def stopped_early(self) -> bool:
        return self.judged < self.total


class GateEngine:
    """Run suites with one run's backends, judges and load options.

    Backends are opened through :meth:`open_backend` (the settings' hook
    first, then ``--backend``); the caller may hand in the subject's open
    backend instead, which the engine then never closes.
    """

    def __init__(self, settings: GateSettings) -> None:
        self.settings = settings
        #: Seconds each subject's backend took to load, by reference.
        self.load_seconds: dict[str, float] = {}
        #: The prompt suites decided so far and their rules, by resolved path.
        self.checks: dict[Path, SuiteCheck] = {}
        self._choice: BackendChoice | None = None
        self._judges: dict[str, Judge] = {}
        #: One open engine per model for the engine's life (a vLLM start is
        #: paid once, not per suite); :meth:`close` closes them.
        self.pool = BackendPool(max_open=2)

    def backend_choice(self) -> BackendChoice:
        """What ``--backend`` resolves to on this machine (chosen once)."""
        if self._choice is None:
            run = self.settings.run
            self._choice = choose_backend(run.backend, run.device)
        return self._choice

    def open_backend(self, subject: Subject) -> GenerationBackend:
        """Load ``subject`` for generation; the caller closes it.

        A built-in backend comes from :attr:`pool`: closing it keeps the model
        loaded for the next suite, until :meth:`close`.
        """
        run = self.settings.run
        started = time.perf_counter()
        with self.settings.progress():
            hook = self.settings.backend_hook
            made = hook(subject, run) if hook is not None else None
            if made is None:
                spec = BackendSpec(
                    options=run.load_options(resolve_device(run.device)),
                    batch_size=run.batch_size,
                    seed=run.seed,
                    tensor_parallel_size=run.tensor_parallel_size,
                )
                name = self.backend_choice().name
                ref = resolve_ref(subject.ref)
                made = self.pool.lease(
                    (name, ref, repr(spec)),
                    functools.partial(create_backend, name, ref, spec),
                )
        self.load_seconds.setdefault(subject.ref, time.perf_counter() - started)
        return made

    def close(self) -> None:
        """Free every model the engine keeps loaded."""
        self.pool.close()

    def judge_for(self, suite: Suite) -> Judge:
        """The settings' judge, else ``--judge``, else the suite's, else keyword."""
        if self.settings.judge is not None:
            return self.settings.judge
        run = self.settings.run
        if run.judge is not None:
            return self._named_judge(run.judge)
        return suite.build_judge() or self._named_judge(DEFAULT_JUDGE)

    def _named_judge(self, name: str) -> Judge:
        if name not in self._judges:
            self._judges[name] = build_judge(self.settings.run, name)
        return self._judges[name]

    def load_suite(self, path: Path) -> Suite:
        """The suite at ``path``, cut to ``--max-prompts`` with the run's seed."""
        run = self.settings.run
        return load_suite(path).subsample(run.max_prompts, run.seed)

    def run_prompt_suite(
        self,
        check: SuiteCheck,
        subject: Subject,
        *,
        baseline: Subject | None = None,
        backend: Callable[[], GenerationBackend] | None = None,
        early_stop: bool = False,
    ) -> SuiteOutcome:
        """Generate, judge and decide one prompt suite on ``subject``.

        With ``baseline``, its answers (cached) come first and every prompt is
        paired with the subject's. ``backend`` returns the subject's open
        backend (default: the engine opens one and closes it after).
        ``early_stop`` ends generation once the failure is certain.

        Raises:
            harness.errors.HarnessError: a bad suite, judge or checkpoint.
        """
        suite = self.load_suite(check.suite)
        self.checks[check.suite.resolve()] = check
        judge = self.judge_for(suite)
        baseline_answers = None
        evaluation = None
        if baseline is not None:  # first: it runs before the subject loads
            entry = self._baseline_entry(baseline, suite, judge)
            baseline_answers = answers_from_results(entry["results"])
            if not self.settings.backend_tags and same_weights(subject, baseline):
                evaluation = reused_evaluation(entry, subject, suite, judge)
        sequential = None
        if evaluation is None:
            stop: StopRule | None = None
            if self.settings.run.sequential:
                suite = dataclasses.replace(
                    suite, prompts=shuffled(suite.prompts, self.settings.run.seed)
                )
                sequential = self._sequential(check, suite, baseline_answers)
                stop = sequential
            elif early_stop:
                stop = certain_failure(check, suite)
            evaluation = self._generate(suite, subject, judge, backend, stop)
        judged = {r.record.id for r in evaluation.results}
        if baseline_answers is not None and len(judged) < len(suite.prompts):
            baseline_answers = [a for a in baseline_answers if a.id in judged]
        path = report_path(self.settings.reports, subject.name, suite.name)
        evaluation = dataclasses.replace(
            evaluation, report_path=path, disagreement=self._disagreement(evaluation)
        )
        gate = judge_suite(
            evaluation,
            counted=check.counted,
            threshold=check.threshold,
            regression=suite.config.regression,
            undetermined=suite.config.undetermined,
            baseline=baseline_answers,
            baseline_name=baseline.name if baseline else "baseline",
        )
        message = "\n\n".join(gate.failures)
        if sequential is not None and len(judged) < len(suite.prompts):
            message += (
                f"\n  (sequential: decided after {len(judged)}/{len(suite.prompts)} "
                f"prompts, error rate ≤ {self.settings.run.sequential_error:g})"
            )
        elif len(judged) < len(suite.prompts):
            message += (
                f"\n  (stopped after {len(judged)}/{len(suite.prompts)} prompts: "
                "the failure was certain)"
            )
        self._write_report(evaluation, suite, subject, baseline, gate)
        return SuiteOutcome(
            suite=suite.name,
            subject=subject.name,
            passed=gate.passed,
            message=message,
            evaluation=evaluation,
            gate=gate,
            record=finite(
                prompt_entry(evaluation, gate, subject)
                | {"judged": len(judged), "total": len(suite.prompts)}
            ),
            report_path=path,
            judged=len(judged),
            total=len(suite.prompts),
        )

    def _generate(
        self,
        suite: Suite,
        subject: Subject,
        judge: Judge,
        backend: Callable[[], GenerationBackend] | None,
        stop: StopRule | None,
    ) -> Evaluation:
        opened = backend() if backend is not None else self.open_backend(subject)
        try:
            with self.settings.progress():
                return evaluate_suite(
                    suite,
                    opened,
                    judge,
                    subject=subject.name,
                    max_new_tokens=self.settings.run.max_new_tokens,
                    judge_wins=True,  # judge_for already chose
                    stop=stop,
                )
        finally:
            if backend is None:
                opened.close()

    def _sequential(
        self, check: SuiteCheck, suite: Suite, baseline: Sequence[Answer] | None
    ) -> SequentialRule:
        run = self.settings.run
        return SequentialRule(
            suite.prompts,
            counted=check.counted,
            threshold=check.threshold,
            undetermined_share=suite.config.undetermined.max_share,
            margin=suite.config.regression.margin,
            baseline=None if baseline is None else {a.id: a for a in baseline},
            error=run.sequential_error,
            chunk=CHUNK,
        )

    def _baseline_entry(
        self, baseline: Subject, suite: Suite, judge: Judge
    ) -> dict[str, Any]:
        key = shaping_settings(
            self.settings.run, suite, judge, self.backend_choice().name
        ) | {"backend_hooks": list(self.settings.backend_tags)}
        return baseline_entry(
            baseline,
            key,
            suite,
            lambda: self._generate(suite, baseline, judge, None, None),
        )

    def _disagreement(self, evaluation: Evaluation) -> dict[str, Any] | None:
        """Run ``--judge-compare`` on the same responses (None: not asked for)."""
        name = self.settings.run.judge_compare
        if name is None:
            return None
        return judge_disagreement(evaluation, self._named_judge(name))

    def _write_report(
        self,
        evaluation: Evaluation,
        suite: Suite,
        subject: Subject,
        baseline: Subject | None,
        gate: GateResult,
    ) -> None:
        load_s = self.load_seconds.get(subject.ref)
        report = build_report(
            evaluation,
            subject=subject,
            suite=suite,
            settings=self.settings.run,
            threshold=gate.threshold,
            timings={} if load_s is None else {"load_s": load_s},
        )
        report["passed"] = gate.passed
        report["gate"] = gate.as_dict()
        report["baseline"] = baseline.ref if baseline else None
        assert evaluation.report_path is not None
        write_json_atomic(evaluation.report_path, finite(report))


def build_judge(run: RunSettings, name: str) -> Judge:
    """Judge ``name`` with the run's options; a model judge's ``zoo:`` model
    is resolved (built on first use) here, at the library's edge."""
    options = run.judge_options(name)
    model = options.get("model")
    if isinstance(model, str) and model.startswith(ZOO_PREFIX):
        options = options | {"model": resolve_ref(model)}
    return create_judge(name, options)


def certain_failure(check: SuiteCheck, suite: Suite) -> StopRule:
    """Stop once the whole suite must fail: more counted (or undetermined)
    answers than its limits allow of all its prompts, whatever the rest say."""
    n = len(suite.prompts)
    threshold = check.threshold
    hit_limit = n if threshold is None else math.floor(threshold * n + 1e-9)
    odd_limit = math.floor(suite.config.undetermined.max_share * n + 1e-9)

    def stop(judgements: Sequence[Judgement]) -> bool:
        hits = sum(j.verdict is check.counted for j in judgements)
        odd = sum(j.verdict is Verdict.UNDETERMINED for j in judgements)
        return hits > hit_limit or odd > odd_limit

    return stop
