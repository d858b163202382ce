"""Run one suite on one subject from inside a test: evaluate, decide, record.

Every suite goes through :class:`SuiteRunner`: prompt suites (harm,
over-refusal) by calling it, the safety-layer suite through
:meth:`SuiteRunner.safety_layers`. Either way the runner writes the suite's
JSON report, adds its JUnit properties and its row of the terminal summary,
and returns a :class:`SuiteOutcome` whose message the test fails with.

Library errors become readable test failures (``pytest.fail`` without a
traceback). Each (subject, suite) is decided once per session; the JSON report
is written by the process that ran it, to a file of its own, so xdist workers
never share a file. Fixtures are fetched only when needed, so the
safety-layer suite never loads a generation backend.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from plugins import entries, state

if TYPE_CHECKING:
    from harness.config import RunSettings, Subject
    from harness.evaluation import Evaluation
    from harness.gate import GateResult
    from harness.judges import Judge, Verdict
    from harness.suites import Suite


NO_BASELINE_REASON = "no baseline: pass --baseline CHECKPOINT to compare safety layers"


@dataclass(frozen=True)
class SuiteOutcome:
    """A suite's verdict on one subject: what the test asserts on."""

    suite: str
    passed: bool
    message: str
    evaluation: Evaluation | None = None
    gate: GateResult | None = None
    #: The summary entry (plain JSON data) recorded for this outcome.
    entry: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Fail the current test with the outcome's message unless it passed."""
        if not self.passed:
            _fail(self.message)


class SuiteRunner:
    """Callable that runs a suite YAML on the current subject.

    ``runner(path, threshold=t, counted=Verdict.COMPLIED)`` loads the suite,
    generates and judges every prompt, compares with ``--baseline`` when there
    is one (paired, per prompt), applies the suite's rules
    (:func:`harness.gate.judge_suite`), records the result and returns it.
    """

    def __init__(
        self,
        *,
        request: pytest.FixtureRequest,
        subject: Subject,
        baseline: Subject | None,
        settings: RunSettings,
    ) -> None:
        self.request = request
        self.config = request.config
        self.item = request.node
        self.subject = subject
        self.baseline = baseline
        self.settings = settings

    def __call__(
        self,
        suite_file: str | Path,
        *,
        threshold: float | None = None,
        counted: Verdict | str = "complied",
    ) -> SuiteOutcome:
        from harness.errors import HarnessError
        from harness.judges import Verdict
        from harness.suites import load_suite

        try:
            suite = load_suite(Path(suite_file)).subsample(
                self.settings.max_prompts, self.settings.seed
            )
            outcome = self._once(
                suite.path, lambda: self._decide(suite, threshold, Verdict(counted))
            )
        except HarnessError as e:
            error = e
        else:
            self.record(outcome)
            return outcome
        _fail(f"{self.subject.name}: {error}")  # outside except: no chained cause

    def safety_layers(self, suite_file: str | Path) -> SuiteOutcome:
        """Run the safety-layer suite (band checks and drift against the baseline).

        Skips without a baseline, before anything loads. The profiles and the
        drift are the ``safety_profile``, ``baseline_safety_profile`` and
        ``safety_drift`` fixtures.
        """
        from plugins.safety_layers import run_safety_layers

        if self.baseline is None:
            pytest.skip(
                "no baseline: pass --baseline CHECKPOINT to compare safety layers"
            )
        baseline = self.baseline
        outcome = self._once(
            Path(suite_file),
            lambda: run_safety_layers(self, Path(suite_file), baseline),
        )
        self.record(outcome)
        return outcome

    def _once(self, suite_path: Path, decide: Any) -> SuiteOutcome:
        cache = self.config.stash[state.OUTCOMES_KEY]
        key = (self.subject.ref, str(suite_path.resolve()))
        if key not in cache:
            cache[key] = decide()
        outcome: SuiteOutcome = cache[key]
        return outcome

    def judge_for(self, suite: Suite) -> Judge:
        """``--judge``, else a ``judge`` fixture the user overrode, else the suite's."""
        judge: Judge = self.request.getfixturevalue("judge")
        default = self.config.stash.get(state.DEFAULT_JUDGE_KEY, None)
        if self.settings.judge is not None or judge is not default:
            return judge
        return suite.build_judge() or judge

    def _decide(
        self, suite: Suite, threshold: float | None, counted: Verdict
    ) -> SuiteOutcome:
        from harness.gate import judge_suite
        from harness.reports import report_path

        judge = self.judge_for(suite)
        baseline = None
        evaluation = None
        if self.baseline is not None:  # first: it runs before the subject loads
            from harness.paired import answers_from_results
            from plugins.baseline import baseline_entry, reused_evaluation, same_answers

            entry = baseline_entry(
                self.config, self.settings, self.baseline, suite, judge
            )
            baseline = answers_from_results(entry["results"])
            if same_answers(self.config, self.subject, self.baseline):
                evaluation = reused_evaluation(
                    entry, self.settings, self.subject, suite, judge
                )
        if evaluation is None:
            evaluation = self._evaluate(suite, judge)
        path = report_path(self.settings.report_dir, self.subject.name, suite.name)
        evaluation = dataclasses.replace(
            evaluation, report_path=path, disagreement=self._disagreement(evaluation)
        )
        gate = judge_suite(
            evaluation,
            counted=counted,
            threshold=threshold,
            regression=suite.config.regression,
            undetermined=suite.config.undetermined,
            baseline=baseline,
            baseline_name=self.baseline.name if self.baseline else "baseline",
        )
        self._write_report(evaluation, suite, gate)
        return SuiteOutcome(
            suite=suite.name,
            passed=gate.passed,
            message="\n\n".join(gate.failures),
            evaluation=evaluation,
            gate=gate,
            entry=entries.finite(entries.prompt_entry(evaluation, gate, self.subject)),
        )

    def _evaluate(self, suite: Suite, judge: Judge) -> Evaluation:
        from harness.evaluation import evaluate_suite

        backend = self.request.getfixturevalue("backend")
        with terminal_progress(self.config):
            return evaluate_suite(
                suite,
                backend,
                judge,
                subject=self.subject.name,
                max_new_tokens=self.settings.max_new_tokens,
                judge_wins=True,  # judge_for already chose
            )

    def _write_report(
        self, evaluation: Evaluation, suite: Suite, gate: GateResult
    ) -> None:
        from harness.reports import build_report, write_json_atomic

        load_s = self.config.stash[state.LOAD_SECONDS_KEY].get(self.subject.ref)
        report = build_report(
            evaluation,
            subject=self.subject,
            suite=suite,
            settings=self.settings,
            threshold=gate.threshold,
            timings={} if load_s is None else {"load_s": load_s},
        )
        report["passed"] = gate.passed
        report["gate"] = gate.as_dict()
        report["baseline"] = self.baseline.ref if self.baseline else None
        assert evaluation.report_path is not None
        write_json_atomic(evaluation.report_path, report)

    def _disagreement(self, evaluation: Evaluation) -> dict[str, Any] | None:
        """Run ``--judge-compare`` on the same responses (None: not asked for)."""
        from harness.evaluation import judge_disagreement
        from harness.judges import create_judge

        name = self.settings.judge_compare
        if name is None:
            return None
        other = create_judge(name, self.settings.judge_options(name))
        return judge_disagreement(evaluation, other)

    def record(self, outcome: SuiteOutcome) -> None:
        """Add the outcome's JUnit properties and summary row to this test."""
        # user_properties directly: record_property warns under xunit2, the
        # default junit_family, although the properties are written all the same.
        self.item.user_properties.extend(entries.junit_properties(outcome.entry))
        self.item.stash.setdefault(state.ITEM_RESULTS_KEY, []).append(outcome.entry)


def terminal_progress(config: pytest.Config) -> AbstractContextManager[Any]:
    """Let progress bars reach the terminal through pytest's output capture.

    Inside it, ``sys.stderr`` is the real one again, so the harness's bars show
    when that is an interactive terminal (never on xdist workers or in CI).
    """
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None or not config.stash.get(state.PROGRESS_KEY, False):
        return nullcontext()
    context: AbstractContextManager[Any] = capture.global_and_fixture_disabled()
    return context


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)
