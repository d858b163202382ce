"""Run one suite on one subject from inside a test, through the gate engine.

Every suite goes through :class:`SuiteRunner`: prompt suites (harm,
over-refusal) with :meth:`SuiteRunner.check`, the safety-layer suite with
:meth:`SuiteRunner.check_safety_layers`. The engine
(:class:`harness.gate.GateEngine`) generates, judges, decides and writes the
JSON report; the runner adds the JUnit properties and the summary row, and
turns a failure into a test failure without a traceback. Each (subject,
suite) is decided once per session.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NoReturn

import pytest

from harness.config import RunSettings, Subject
from harness.errors import HarnessError
from harness.gate import GateEngine, SuiteCheck, SuiteOutcome
from harness.gate.layers import baseline_band, decide_safety_layers
from harness.gate.records import junit_properties
from harness.judges import Verdict
from harness.localization.profile import SafetyLayerProfile
from plugins import state

NO_BASELINE_REASON = "no baseline: pass --baseline CHECKPOINT to compare safety layers"


class SuiteRunner:
    """Run suite YAMLs on the current subject and record their outcomes."""

    def __init__(
        self,
        *,
        request: pytest.FixtureRequest,
        engine: GateEngine,
        subject: Subject,
        baseline: Subject | None,
    ) -> None:
        self.request = request
        self.engine = engine
        self.subject = subject
        self.baseline = baseline

    @property
    def settings(self) -> RunSettings:
        return self.engine.settings.run

    def __call__(
        self,
        suite_file: str | Path,
        *,
        threshold: float | None = None,
        counted: Verdict | str = "complied",
    ) -> SuiteOutcome:
        """Decide a prompt suite: its ``counted`` rate against ``threshold``,
        the degenerate rule and, with ``--baseline``, the paired rule."""
        check = SuiteCheck(Path(suite_file), Verdict(counted), threshold)
        outcome = self._once(
            check.suite,
            lambda: self.engine.run_prompt_suite(
                check,
                self.subject,
                baseline=self.baseline,
                backend=lambda: self.request.getfixturevalue("backend"),
            ),
        )
        self.record(outcome)
        return outcome

    def check(
        self,
        suite_file: str | Path,
        *,
        threshold: float | None = None,
        counted: Verdict | str = "complied",
    ) -> SuiteOutcome:
        """Like calling the runner; fail the test unless the suite passes."""
        return passed_or_fail(self(suite_file, threshold=threshold, counted=counted))

    def safety_layers(self, suite_file: str | Path) -> SuiteOutcome:
        """Decide the safety-layer suite (band checks and drift against the baseline).

        Skips without a baseline, before anything loads. The profiles and the
        drift are the ``safety_profile``, ``baseline_safety_profile`` and
        ``safety_drift`` fixtures, so a ``conftest.py`` can replace them.
        """
        if self.baseline is None:
            pytest.skip(NO_BASELINE_REASON)
        outcome = self._once(Path(suite_file), lambda: self._layers(Path(suite_file)))
        if outcome.skipped:
            pytest.skip(outcome.skipped)  # nothing measured, nothing to regress from
        self.record(outcome)
        return outcome

    def check_safety_layers(self, suite_file: str | Path) -> SuiteOutcome:
        """Like :meth:`safety_layers`; fail the test unless the suite passes."""
        return passed_or_fail(self.safety_layers(suite_file))

    def _layers(self, suite_file: Path) -> SuiteOutcome:
        assert self.baseline is not None
        fixture = self.request.getfixturevalue
        base_profile: SafetyLayerProfile = fixture("baseline_safety_profile")
        profile: SafetyLayerProfile = fixture("safety_profile")
        self.request.config.stash[state.BASELINE_BAND_KEY] = baseline_band(base_profile)
        drift: dict[str, Any] | None = fixture("safety_drift")
        return decide_safety_layers(
            self.settings,
            suite_file,
            self.subject,
            self.baseline,
            (profile, base_profile),
            drift,
        )

    def _once(
        self, suite_path: Path, decide: Callable[[], SuiteOutcome]
    ) -> SuiteOutcome:
        cache = self.request.config.stash[state.OUTCOMES_KEY]
        key = (self.subject.ref, str(suite_path.resolve()))
        if key not in cache:
            cache[key] = call_or_fail(self.subject, decide)
        return cache[key]

    def record(self, outcome: SuiteOutcome) -> None:
        """Add the outcome's JUnit properties and summary row to this test."""
        item = self.request.node
        # user_properties directly: record_property warns under xunit2, the
        # default junit_family, although the properties are written all the same.
        item.user_properties.extend(junit_properties(outcome.record))
        item.stash.setdefault(state.ITEM_RESULTS_KEY, []).append(outcome.record)


def call_or_fail(subject: Subject, decide: Callable[[], SuiteOutcome]) -> SuiteOutcome:
    """Run ``decide``; a library error fails the test, naming the subject."""
    try:
        return decide()
    except HarnessError as e:
        error = e
    fail(f"{subject.name}: {error}")  # outside except: no chained cause


def passed_or_fail(outcome: SuiteOutcome) -> SuiteOutcome:
    """Fail the current test with the outcome's message unless it passed."""
    if not outcome.passed:
        fail(outcome.message)
    return outcome


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


def fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)
