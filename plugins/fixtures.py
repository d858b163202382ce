"""Session fixtures: settings, the subject under test, its backend, the judge.

``subject`` is parametrized over the ``--model`` values (ids: subject names),
session-scoped, so pytest groups the tests of one checkpoint together and tears
the previous subject's ``backend`` down (the model freed) before the next one
loads. Without ``--model``, every test that needs a subject is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from plugins import options, state
from plugins.runner import SuiteRunner, terminal_progress

if TYPE_CHECKING:
    from harness.backends import GenerationBackend
    from harness.config import RunSettings, Subject
    from harness.judges import Judge

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
    from harness.config import Subject

    ref = run_settings.baseline
    return None if ref is None else Subject.from_ref(ref)


@pytest.fixture(scope="session")
def backend(
    subject: Subject, run_settings: RunSettings, pytestconfig: pytest.Config
) -> Iterator[GenerationBackend]:
    """The loaded model of the current subject; closed when the subject changes."""
    started = time.perf_counter()
    with terminal_progress(pytestconfig):
        created = create_backend(pytestconfig, subject, run_settings)
    pytestconfig.stash[state.LOAD_SECONDS_KEY][subject.ref] = (
        time.perf_counter() - started
    )
    try:
        yield created
    finally:
        created.close()


def create_backend(
    config: pytest.Config, subject: Subject, settings: RunSettings
) -> GenerationBackend:
    """Ask the hook first, then build the backend ``--backend`` chose."""
    from harness.errors import HarnessError

    made: GenerationBackend | None = config.hook.pytest_safety_create_backend(
        subject=subject, settings=settings
    )
    if made is not None:
        return made
    try:
        return _builtin_backend(config, subject, settings)
    except HarnessError as e:
        error = e
    # Failing outside the except block keeps the chained cause out of the report.
    pytest.fail(f"{subject.name}: {error}", pytrace=False)


def _builtin_backend(
    config: pytest.Config, subject: Subject, settings: RunSettings
) -> GenerationBackend:
    from harness.backends import BackendSpec, create_backend
    from harness.checkpoint import resolve_device

    choice = config.stash[state.BACKEND_CHOICE_KEY]
    name = choice.name if choice is not None else "hf"
    spec = BackendSpec(
        options=settings.load_options(resolve_device(settings.device)),
        batch_size=settings.batch_size,
        seed=settings.seed,
        tensor_parallel_size=settings.tensor_parallel_size,
    )
    return create_backend(name, checkpoint_dir(subject.ref), spec)


def checkpoint_dir(ref: str) -> str:
    """The directory of a checkpoint reference; a ``zoo:`` model is built first.

    References are resolved here, at the plugin's edge, so that the library's
    checkpoint layer only ever sees paths.
    """
    from harness.zoo import resolve_ref

    return resolve_ref(ref)


@pytest.fixture(scope="session")
def judge(run_settings: RunSettings, pytestconfig: pytest.Config) -> Judge:
    """The run's refusal judge: ``--judge``, else the suite's, else keyword.

    ``--judge`` wins over a suite's judge. So does a ``judge`` fixture defined
    in a ``conftest.py``: the suite's own judge is used only while this
    default fixture is the one in force (and no ``--judge`` was given).
    """
    made = build_judge(run_settings, run_settings.judge or "keyword")
    pytestconfig.stash[state.DEFAULT_JUDGE_KEY] = made
    return made


def build_judge(settings: RunSettings, name: str) -> Judge:
    """Create judge ``name`` with the run's options; errors fail the test."""
    from harness.errors import HarnessError
    from harness.judges import create_judge

    try:
        return create_judge(name, settings.judge_options(name))
    except (HarnessError, ValueError) as e:  # ValueError: bad judge options
        error = e
    pytest.fail(f"judge {name!r}: {error}", pytrace=False)


@pytest.fixture
def suite_runner(
    request: pytest.FixtureRequest,
    subject: Subject,
    baseline_subject: Subject | None,
    run_settings: RunSettings,
) -> SuiteRunner:
    """Run a suite YAML on the current subject; see :class:`SuiteRunner`.

    The ``backend`` and ``judge`` fixtures are fetched when a suite needs them,
    after the baseline's answers (so the baseline runs before the subject loads).
    """
    return SuiteRunner(
        request=request,
        subject=subject,
        baseline=baseline_subject,
        settings=run_settings,
    )
