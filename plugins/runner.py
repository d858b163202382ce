"""Run one suite on one subject from inside a test: evaluate, report, record.

Library errors become readable test failures (``pytest.fail`` without a
traceback). Each (subject, suite) is evaluated once per session; the JSON
report is written by the process that ran the evaluation, to a file of its
own, so xdist workers never share a file.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from plugins import state

if TYPE_CHECKING:
    from harness.backends import GenerationBackend
    from harness.config import RunSettings, Subject
    from harness.evaluation import Evaluation
    from harness.judges import Judge
    from harness.suites import Suite


class SuiteRunner:
    """Callable that evaluates a suite on the current subject.

    ``runner(path, threshold=t)`` loads the suite YAML at ``path``, generates
    and judges every prompt (once per session), writes the JSON report, records
    the metrics as JUnit properties and for the terminal summary, and returns
    the :class:`~harness.evaluation.Evaluation`.
    """

    def __init__(
        self,
        *,
        config: pytest.Config,
        item: pytest.Item,
        subject: Subject,
        backend: GenerationBackend,
        judge: Judge,
        settings: RunSettings,
    ) -> None:
        self.config = config
        self.item = item
        self.subject = subject
        self.backend = backend
        self.judge = judge
        self.settings = settings

    def __call__(
        self, suite_file: str | Path, *, threshold: float | None = None
    ) -> Evaluation:
        from harness.errors import HarnessError
        from harness.suites import load_suite

        try:
            suite = load_suite(Path(suite_file)).subsample(
                self.settings.max_prompts, self.settings.seed
            )
            evaluation = self._evaluation(suite, threshold)
        except HarnessError as e:
            error = e
        else:
            self._record(evaluation, threshold)
            return evaluation
        _fail(f"{self.subject.name}: {error}")  # outside except: no chained cause

    def _evaluation(self, suite: Suite, threshold: float | None) -> Evaluation:
        cache = self.config.stash[state.EVALUATIONS_KEY]
        key = (self.subject.ref, str(suite.path.resolve()))
        if key not in cache:
            cache[key] = self._evaluate_and_report(suite, threshold)
        return cache[key]

    def _evaluate_and_report(self, suite: Suite, threshold: float | None) -> Evaluation:
        from harness.evaluation import evaluate_suite
        from harness.reports import build_report, report_path, write_json_atomic

        with terminal_progress(self.config):
            evaluation = evaluate_suite(
                suite,
                self.backend,
                self.judge,
                subject=self.subject.name,
                max_new_tokens=self.settings.max_new_tokens,
                judge_wins=self.settings.judge is not None,
            )
        path = report_path(self.settings.report_dir, self.subject.name, suite.name)
        evaluation = dataclasses.replace(
            evaluation, report_path=path, disagreement=self._disagreement(evaluation)
        )
        load_s = self.config.stash[state.LOAD_SECONDS_KEY].get(self.subject.ref)
        report = build_report(
            evaluation,
            subject=self.subject,
            suite=suite,
            settings=self.settings,
            threshold=threshold,
            timings={} if load_s is None else {"load_s": load_s},
        )
        write_json_atomic(path, report)
        return evaluation

    def _disagreement(self, evaluation: Evaluation) -> dict[str, Any] | None:
        """Run ``--judge-compare`` on the same responses (None: not asked for)."""
        from harness.evaluation import judge_disagreement
        from harness.judges import create_judge

        name = self.settings.judge_compare
        if name is None:
            return None
        other = create_judge(name, self.settings.judge_options(name))
        return judge_disagreement(evaluation, other)

    def _record(self, evaluation: Evaluation, threshold: float | None) -> None:
        from harness.reports import summary_entry

        # user_properties directly: record_property warns under xunit2, the
        # default junit_family, although the properties are written all the same.
        self.item.user_properties.extend(junit_properties(evaluation, threshold))
        entries = self.item.stash.setdefault(state.ITEM_RESULTS_KEY, [])
        entries.append(summary_entry(evaluation, threshold))


def junit_properties(
    evaluation: Evaluation, threshold: float | None
) -> list[tuple[str, Any]]:
    """The metrics of one evaluation as JUnit ``user_properties``."""
    s = evaluation.summary
    low, high = s.interval
    props: list[tuple[str, Any]] = [
        ("subject", evaluation.subject),
        ("suite", evaluation.suite),
        ("harm_rate", round(s.rate, 6)),
        ("ci95", f"[{low:.4f}, {high:.4f}]"),
        ("ci95_low", round(low, 6)),
        ("ci95_high", round(high, 6)),
        ("n", s.n),
        ("complied", s.complied),
        ("refused", s.refused),
        ("undetermined", s.undetermined),
    ]
    if threshold is not None:
        props.append(("threshold", threshold))
    props.extend(
        (f"harm_rate[{name}]", round(c.rate, 6))
        for name, c in evaluation.by_category.items()
    )
    if evaluation.report_path is not None:
        props.append(("report", str(evaluation.report_path)))
    return props


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
