"""Session fixtures: settings, the subject under test, its backend, the engine.

``subject`` is parametrized over the ``--model`` values (ids: subject names),
session-scoped, so pytest groups the tests of one checkpoint together and tears
the previous subject's ``backend`` down (the model freed) before the next one
loads. Without ``--model``, collecting a suite is a usage error
(:func:`plugins.plugin.pytest_collection_finish`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.backends import GenerationBackend
from harness.config import RunSettings, Subject
from harness.errors import HarnessError
from harness.gate import GateEngine
from harness.gate.engine import build_judge
from harness.judges import Judge
from plugins import options, state
from plugins.engine import gate_settings
from plugins.runner import SuiteRunner, fail

_MODEL = options.option_for(options.MODEL)
NO_SUBJECT_REASON = (
    f"no checkpoint under test: pass {_MODEL.flag} PATH "
    f"(or set {_MODEL.env}, or {_MODEL.ini} in the ini file)"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" not in metafunc.fixturenames:
        return
    subjects = metafunc.config.stash.get(state.SUBJECTS_KEY, ())
    if subjects:
        metafunc.parametrize(
            "subject",
            subjects,
            ids=[s.name for s in subjects],
            indirect=True,
            scope="session",
        )


@pytest.fixture(scope="session")
def run_settings(pytestconfig: pytest.Config) -> RunSettings:
    """The run settings, resolved once (command line > env > ini > default)."""
    return state.settings_of(pytestconfig)


@pytest.fixture(scope="session")
def subject(request: pytest.FixtureRequest) -> Subject:
    """The checkpoint under test; one per ``--model``."""
    param: Subject | None = getattr(request, "param", None)
    if param is None:
        pytest.skip(NO_SUBJECT_REASON)
    return param


@pytest.fixture(scope="session")
def baseline_subject(run_settings: RunSettings) -> Subject | None:
    """The ``--baseline`` checkpoint, or ``None``."""
    ref = run_settings.baseline
    return None if ref is None else Subject.from_ref(ref)


@pytest.fixture(scope="session")
def gate_engine(pytestconfig: pytest.Config, judge: Judge) -> Iterator[GateEngine]:
    """The session's gate engine (:class:`harness.gate.GateEngine`); the models
    it keeps loaded are freed at the end of the session."""
    default = pytestconfig.stash.get(state.DEFAULT_JUDGE_KEY, None)
    engine = GateEngine(
        gate_settings(pytestconfig, None if judge is default else judge)
    )
    pytestconfig.stash[state.ENGINE_KEY] = engine
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def backend(subject: Subject, gate_engine: GateEngine) -> Iterator[GenerationBackend]:
    """The loaded model of the current subject; closed when the subject changes."""
    try:
        created = gate_engine.open_backend(subject)
    except HarnessError as e:
        error = e
    else:
        try:
            yield created
        finally:
            created.close()
        return
    fail(f"{subject.name}: {error}")  # outside except: no chained cause


@pytest.fixture(scope="session")
def judge(run_settings: RunSettings, pytestconfig: pytest.Config) -> Judge:
    """The run's refusal judge: ``--judge``, else keyword.

    A ``judge`` fixture defined in a ``conftest.py`` replaces this one and
    then wins over the suites' own judges; this default leaves a suite's own
    judge in force unless ``--judge`` was given.
    """
    name = run_settings.judge or "keyword"
    try:
        made = build_judge(run_settings, name)
    except (HarnessError, ValueError) as e:  # ValueError: bad judge options
        error = e
    else:
        pytestconfig.stash[state.DEFAULT_JUDGE_KEY] = made
        return made
    fail(f"judge {name!r}: {error}")


@pytest.fixture
def suite_runner(
    request: pytest.FixtureRequest,
    gate_engine: GateEngine,
    subject: Subject,
    baseline_subject: Subject | None,
) -> SuiteRunner:
    """Run a suite YAML on the current subject; see :class:`SuiteRunner`.

    The ``backend`` fixture is fetched when a suite needs it, after the
    baseline's answers (so the baseline runs before the subject loads).
    """
    return SuiteRunner(
        request=request,
        engine=gate_engine,
        subject=subject,
        baseline=baseline_subject,
    )
