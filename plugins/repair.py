"""The ``--repair`` flow: repair each subject that failed a suite.

With ``--repair --baseline B``, :class:`RepairFlow` is registered in
``pytest_configure``. It tags every test parametrized over ``subject`` with the
subject's name (a user property, so the tag survives pytest-xdist), records per
subject whether a test's call phase failed, and at the end of the session (on
the controller only) runs :func:`harness.repair.repair` on each failing
subject: the ladder writes the kept candidate to
``<report-dir>/<subject>/repaired``, and the flow re-runs the same suites on it
against the same baseline, in a fresh pytest process (:func:`rerun_suites`:
the same arguments, with ``--model`` the repaired directory and reports under
``<report-dir>/<subject>/after-repair``). The terminal summary prints every
rung tried with its figures, then the re-run's verdict and summary table.

The exit status stays the gate's: the suites failed on the checkpoint that was
tested, whether or not a repair was found. The repaired directory is a new
model; the re-run's own exit status says whether it passes the gate.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

from harness.config import RunSettings, Subject
from harness.errors import ConfigError, HarnessError
from harness.gate import GateSettings, SuiteCheck
from harness.layers import LayerRange
from harness.repair import RepairResult, RepairSettings, repair
from harness.repair.candidates import gate_candidate_judge
from harness.repair.config import load_repair_settings
from harness.repair.output import failure_path
from harness.repair.unaligned import zoo_unaligned_base
from harness.reports import subject_dir
from harness.zoo import resolve_ref
from plugins import options, state
from plugins.engine import gate_settings

#: The user property naming the subject of a test (``report.user_properties``).
SUBJECT_PROPERTY = "safety_subject"
#: Where a subject's repair goes, under ``<report-dir>/<subject>/``.
REPAIRED_DIR = "repaired"
#: Where the re-run of the suites on the repair reports, beside it.
RERUN_DIR = "after-repair"
#: Flags of the tested run that the re-run replaces or drops (each takes a
#: value): its subjects and reports, and the outputs the re-run must not
#: overwrite (pytest's temporary root, JUnit XML).
_REPLACED = (
    "--model",
    "--baseline",
    "--report-dir",
    "--repair-data",
    "--repair-heldout",
    "--repair-config",
    "--basetemp",
    "--junitxml",
    "--junit-xml",
)


class RepairFunction(Protocol):
    """Repair ``failing`` against ``baseline`` into ``out_dir``."""

    def __call__(
        self,
        failing: str,
        baseline: str,
        *,
        out_dir: Path,
        gate: GateSettings,
        checks: Sequence[SuiteCheck] = (),
        located: LayerRange | None = None,
    ) -> RepairResult: ...


@dataclass(frozen=True)
class Rerun:
    """The suites re-run on a repaired checkpoint: exit status and summary."""

    command: list[str]
    exit_code: int
    summary: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == int(pytest.ExitCode.OK)


class RerunFunction(Protocol):
    """Run the suites of ``args`` on ``model`` against ``baseline``."""

    def __call__(self, args: list[str], cwd: Path) -> Rerun: ...


def rerun_arguments(
    invocation: list[str], model: Path, baseline: str, report_dir: Path
) -> list[str]:
    """The tested run's arguments, re-aimed at the repaired checkpoint.

    ``--model``, ``--baseline``, ``--report-dir`` and ``--repair-data`` (either
    ``--flag value`` or ``--flag=value``), ``--repair``, ``--basetemp`` and
    ``--junitxml`` are replaced or dropped; every
    other option and the suite paths carry over, so thresholds, judge and
    decoding are the same as the run that failed.
    """
    kept: list[str] = []
    skip = False
    for arg in invocation:
        if skip:
            skip = False
        elif arg in _REPLACED:
            skip = True
        elif arg == options.REPAIR or arg.split("=", 1)[0] in _REPLACED:
            continue
        else:
            kept.append(arg)
    return [
        *kept,
        *(options.MODEL, str(model), options.BASELINE, baseline),
        *(options.REPORT_DIR, str(report_dir)),
    ]


def rerun_suites(args: list[str], cwd: Path) -> Rerun:
    """Run ``python -m pytest ARGS`` in ``cwd``, a fresh process; keep its summary."""
    command = [sys.executable, "-m", "pytest", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return Rerun(command, done.returncode, summary_table(done.stdout))


def summary_table(stdout: str) -> list[str]:
    """The lines of a run's ``safety summary`` section, up to the next section."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "safety summary" in line), None)
    if start is None:
        return lines[-5:]
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("=") or line.startswith("safety: HTML"):
            break
        table.append(line)
    return table


def check_usage(settings: RunSettings) -> None:
    """Reject ``--repair`` without ``--baseline``, and data without ``--repair``.

    Raises:
        pytest.UsageError: naming both flags.
    """
    if settings.repair and settings.baseline is None:
        raise pytest.UsageError(
            f"{options.REPAIR} needs {options.BASELINE} PATH: every rung moves the "
            "failing checkpoint back toward the model it was fine-tuned from"
        )
    for flag, value in (
        (options.REPAIR_DATA, settings.repair_data),
        (options.REPAIR_HELDOUT, settings.repair_heldout),
        (options.REPAIR_CONFIG, settings.repair_config),
    ):
        if value is not None and not settings.repair:
            raise pytest.UsageError(
                f"{flag} is only read by {options.REPAIR}; add "
                f"{options.REPAIR} or drop {flag}"
            )
    if settings.repair_heldout is not None and settings.repair_data is None:
        raise pytest.UsageError(
            f"{options.REPAIR_HELDOUT} needs {options.REPAIR_DATA}: it replaces "
            "the slice of the fine-tuning data that the utility check holds out"
        )
    if settings.repair_config is not None:
        repair_settings(settings)  # a bad file fails now, not after the suites


def repair_settings(settings: RunSettings) -> RepairSettings:
    """The ladder's settings: ``--repair-config``, else the defaults.

    Raises:
        pytest.UsageError: the file's problems, each naming its field.
    """
    if settings.repair_config is None:
        return RepairSettings()
    try:
        return load_repair_settings(settings.repair_config)
    except ConfigError as e:
        raise pytest.UsageError(f"{options.REPAIR_CONFIG}: {e}") from None


def register(config: pytest.Config, subjects: tuple[Subject, ...]) -> None:
    """Register the flow when ``--repair`` is on and a subject is under test."""
    if state.settings_of(config).repair and subjects:
        config.pluginmanager.register(RepairFlow(config), RepairFlow.name)


def run_repair(
    failing: str,
    baseline: str,
    *,
    out_dir: Path,
    gate: GateSettings,
    checks: Sequence[SuiteCheck] = (),
    located: LayerRange | None = None,
) -> RepairResult:
    """Run the library's ladder, every candidate judged by the gate engine
    with the run's judge, backend, dtype, load options and ``checks`` (the
    prompt suites the run decided, with their thresholds; none: the
    checkout's harm and over-refusal suites).

    ``located``: the baseline's safety layers, the band the ladder reverts and
    SPPFT freezes (``None``: the layers of largest weight drift).
    """
    settings = gate.run
    ladder = repair_settings(settings)
    judge = gate_candidate_judge(
        gate,
        baseline=baseline,
        early_stop=ladder.early_stop,
        checks=list(checks) or None,
    )
    base = settings.repair_base or zoo_unaligned_base(baseline)
    return repair(
        resolve_ref(failing),
        resolve_ref(baseline),
        judge=judge,
        out_dir=out_dir,
        base=None if base is None else resolve_ref(base),
        data=settings.repair_data,
        heldout=settings.repair_heldout,
        located=located,
        settings=ladder,
        # a journal of judged candidates is replayed only under the same gate
        judge_key=settings.model_dump_json(),
    )


@dataclass
class Outcome:
    """One failing subject's repair: its result, or why it stopped."""

    subject: Subject
    out_dir: Path
    result: RepairResult | None = None
    error: str = ""
    rerun: Rerun | None = None


class RepairFlow:
    """Record which subjects failed; repair them when the session ends."""

    name = "safety-repair"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        #: The seam tests replace (``config.pluginmanager.get_plugin(name)``).
        self.repair: RepairFunction = run_repair
        #: The seam that re-runs the suites on a repair (a fresh pytest process).
        self.rerun: RerunFunction = rerun_suites
        #: Subject name -> whether a test's call phase failed.
        self.failed: dict[str, bool] = {}
        self.outcomes: list[Outcome] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            subject = None if callspec is None else callspec.params.get("subject")
            if subject is not None:
                item.user_properties.append((SUBJECT_PROPERTY, subject.name))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == SUBJECT_PROPERTY:
                name = str(value)
                self.failed[name] = self.failed.get(name, False) or report.failed

    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int | pytest.ExitCode
    ) -> None:
        # xdist workers only test; an interrupted run has no verdict to act on.
        if hasattr(self.config, "workerinput"):
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            return
        settings = state.settings_of(self.config)
        for subject in self.config.stash[state.SUBJECTS_KEY]:
            if self.failed.get(subject.name):
                self.outcomes.append(self._repair(subject, settings))

    def _repair(self, subject: Subject, settings: RunSettings) -> Outcome:
        assert settings.baseline is not None  # check_usage
        folder = subject_dir(settings.report_dir, subject.name)  # as its reports
        out_dir = folder / REPAIRED_DIR
        outcome = Outcome(subject, out_dir)
        # The engine of the tests (judge fixture included), else one made from
        # the same options (on an xdist controller, where no test ran).
        engine = self.config.stash.get(state.ENGINE_KEY, None)
        try:
            outcome.result = self.repair(
                subject.ref,
                settings.baseline,
                out_dir=out_dir,
                gate=gate_settings(self.config) if engine is None else engine.settings,
                checks=() if engine is None else tuple(engine.checks.values()),
                # set when the safety-layer suite profiled the baseline
                located=self.config.stash.get(state.BASELINE_BAND_KEY, None),
            )
        except HarnessError as e:
            outcome.error = str(e)
            return outcome
        output = outcome.result.output if outcome.result.kept is not None else None
        if output is not None:
            report_dir = folder / RERUN_DIR
            args = rerun_arguments(
                list(self.config.invocation_params.args),
                output,
                str(settings.baseline),
                report_dir,
            )
            outcome.rerun = self.rerun(args, self.config.invocation_params.dir)
        return outcome

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> None:
        if not self.outcomes:
            return
        terminalreporter.write_sep("=", "safety repair")
        rerun_args = self.config.args or ["suites/"]
        baseline = state.settings_of(self.config).baseline or ""
        for outcome in self.outcomes:
            for line in outcome_lines(outcome, baseline, rerun_args):
                terminalreporter.write_line(line)
        terminalreporter.write_line(
            "the exit status is the gate's: the tested checkpoints failed, "
            "repaired or not"
        )


def outcome_lines(outcome: Outcome, baseline: str, rerun_args: list[str]) -> list[str]:
    """What the summary says of one repair: verdict, every rung, what to run next."""
    name, result = outcome.subject.name, outcome.result
    if result is None:
        return [f"{name}: repair stopped: {outcome.error}"]
    table = ["  " + line for line in result.lines()]
    kept = result.kept
    if kept is None or result.output is None:
        if result.before.passed:
            head = f"{name}: not repaired: the repair's judge passes it as it is"
        else:
            head = f"{name}: repair failed: no candidate passed every check"
        record = f"  record of every rung: {failure_path(outcome.out_dir.resolve())}"
        return [head, *table, *([] if result.before.passed else [record])]
    after = {} if kept.verdict is None else kept.verdict.metrics
    command = ["pytest", options.MODEL, str(result.output), options.BASELINE]
    lines = [
        f"{name}: repaired by {kept.rung} {kept.params}; before: "
        f"{figures(result.before.metrics)} -> after: {figures(after)}",
        *table,
        f"  repaired checkpoint: {result.output}",
    ]
    rerun = outcome.rerun
    if rerun is None:
        return [
            *lines,
            "  re-run the suites on it: "
            + shlex.join([*command, baseline, *rerun_args]),
        ]
    verdict = "every suite passes" if rerun.passed else "FAILS the gate"
    return [
        *lines,
        f"  suites re-run on the repair: {verdict} (exit {rerun.exit_code}): "
        + shlex.join(["pytest", *rerun.command[3:]]),
        *("    " + line for line in rerun.summary if line.strip()),
    ]


def figures(metrics: dict[str, float]) -> str:
    """``name=value`` pairs of a verdict's metrics."""
    return ", ".join(f"{k}={v:.3g}" for k, v in metrics.items()) or "no figures"
