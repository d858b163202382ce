"""Judge repair candidates with the gate engine: the ladder's second adapter.

Every candidate directory is run through :class:`harness.gate.GateEngine`
with the run's :class:`~harness.gate.GateSettings` (judge, backend, backend
hook, dtype, load options) and the same rules as the gate: each prompt suite's
threshold, the degenerate-output rule and, against the baseline, the paired
rule. Suites after a failed one are not run, and with ``early_stop`` a suite
stops once its failure is certain; the figures then read as lower bounds
(``≥``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.backends import GenerationBackend
from harness.config import RunSettings, Subject
from harness.gate import GateEngine, GateSettings, SuiteCheck, SuiteOutcome
from harness.gate.rules import RATE_NAMES
from harness.judges import Verdict
from harness.repair.records import CandidateJudge, CandidateVerdict

#: The repository's suites, the defaults when the command line runs from a checkout.
SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"
#: Where candidates' JSON reports go, under the run's report directory.
CANDIDATE_REPORTS = "repair-candidates"


def default_checks(
    settings: RunSettings, suites_dir: Path = SUITES_DIR
) -> list[SuiteCheck]:
    """The harm suite and, where present, the over-refusal suite, with the
    run's thresholds."""
    checks = [
        SuiteCheck(
            suites_dir / "harm" / "suite.yaml",
            Verdict.COMPLIED,
            settings.harm_threshold,
        )
    ]
    over = suites_dir / "over_refusal" / "suite.yaml"
    if over.is_file():
        checks.append(
            SuiteCheck(over, Verdict.REFUSED, settings.over_refusal_threshold)
        )
    return checks


def gate_candidate_judge(
    settings: RunSettings | GateSettings,
    *,
    baseline: str | None,
    early_stop: bool,
    checks: Sequence[SuiteCheck] | None = None,
) -> CandidateJudge:
    """A ``CandidateJudge`` that runs ``checks`` (default :func:`default_checks`)
    through the gate engine, paired with ``baseline`` when given."""
    gate = settings if isinstance(settings, GateSettings) else GateSettings(settings)
    reports = gate.reports / CANDIDATE_REPORTS
    engine = GateEngine(dataclasses.replace(gate, report_dir=reports))
    chosen = list(checks) if checks is not None else default_checks(gate.run)
    reference = None if baseline is None else Subject.from_ref(baseline)

    def judge(path: Path) -> CandidateVerdict:
        candidate = Subject(ref=str(path), name=path.name)
        metrics: dict[str, float] = {}
        failures: list[str] = []
        unsafe = False
        backend = None
        try:
            for check in chosen:
                if backend is None:
                    backend = engine.open_backend(candidate)
                outcome = engine.run_prompt_suite(
                    check,
                    candidate,
                    baseline=reference,
                    backend=functools.partial(_same, backend),
                    early_stop=early_stop,
                )
                metrics.update(outcome_metrics(outcome, check))
                if not outcome.passed:
                    failures.append(failure_line(outcome, check))
                    unsafe = check.counted is Verdict.COMPLIED
                    break  # the candidate fails: the other suites cannot save it
        finally:
            if backend is not None:
                backend.close()
            engine.close()  # a candidate is judged once: free its model now
        summary = "; ".join(failures) if failures else "every suite passes"
        return CandidateVerdict(not failures, metrics, summary, unsafe)

    return judge


def _same(backend: GenerationBackend) -> GenerationBackend:
    return backend


def outcome_metrics(outcome: SuiteOutcome, check: SuiteCheck) -> dict[str, float]:
    """``<suite>.<rate>`` (of all prompts: a lower bound when stopped early),
    and how many prompts were judged of how many."""
    gate = outcome.gate
    count = 0 if gate is None else gate.count
    total = max(outcome.total, 1)
    name = RATE_NAMES.get(check.counted, "rate").replace(" ", "_").replace("-", "_")
    return {
        f"{outcome.suite}.{name}": count / total,
        f"{outcome.suite}.judged": float(outcome.judged),
        f"{outcome.suite}.n": float(outcome.total),
    }


def failure_line(outcome: SuiteOutcome, check: SuiteCheck) -> str:
    """One line for the ladder's table: the first rule the candidate broke."""
    first = outcome.message.splitlines()[0] if outcome.message else "failed"
    if outcome.stopped_early:
        first += f" (stopped after {outcome.judged}/{outcome.total})"
    return f"{outcome.suite}: {first}"


def gate_prompt_verdicts(
    settings: RunSettings | GateSettings, checks: Sequence[SuiteCheck] | None = None
) -> Callable[[Path], dict[str, dict[str, str]]]:
    """Judge a checkpoint on every suite of ``checks``, every prompt (no early
    stop, no baseline): ``{suite: {prompt id: verdict}}``, for studies that
    compare trained models prompt by prompt."""
    gate = settings if isinstance(settings, GateSettings) else GateSettings(settings)
    engine = GateEngine(
        dataclasses.replace(gate, report_dir=gate.reports / CANDIDATE_REPORTS)
    )
    chosen = list(checks) if checks is not None else default_checks(gate.run)

    def judge(path: Path) -> dict[str, dict[str, str]]:
        subject = Subject(ref=str(path), name=path.parent.name)
        backend = engine.open_backend(subject)
        found: dict[str, dict[str, str]] = {}
        try:
            for check in chosen:
                outcome = engine.run_prompt_suite(
                    check, subject, backend=functools.partial(_same, backend)
                )
                assert outcome.evaluation is not None  # a prompt suite always has one
                found[outcome.suite] = {
                    r.record.id: r.judgement.verdict.value
                    for r in outcome.evaluation.results
                }
        finally:
            backend.close()
            engine.close()
        return found

    return judge
