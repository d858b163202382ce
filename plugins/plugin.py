"""Entry module of the pytest plugin (``pytest11`` entry point ``safety``).

It declares the options and hooks, resolves the run settings once, vets the
checkpoints named on the command line, and registers the fixture modules. It
imports nothing heavy: torch, transformers and vllm load inside fixtures. The
options read their defaults, choices and help from ``harness.config.RunSettings``
(pydantic, tens of milliseconds), so ``--help`` and the README cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BackendChoice
from harness.backends import choose_backend as choose
from harness.config import RunSettings, Subject
from harness.environment import checkpoint_dir_of, library_environment
from harness.errors import HarnessError
from harness.gate.subjects import make_subjects, vet_checkpoints
from harness.io import read_yaml_mapping
from harness.localization.regression import load_policy
from harness.progress import progress_enabled
from harness.suites import load_suite
from harness.threads import configure_threads
from plugins import hookspecs, options, repair, state

#: Modules holding fixtures and hooks.
FIXTURE_MODULES = ("plugins.fixtures", "plugins.reporting", "plugins.safety_layers")

pytest_plugins = list(FIXTURE_MODULES)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help or config.option.version:
        return
    # Threads from the cores this process may use, shared among xdist workers:
    # oversubscribed OpenMP threads cost far more than their share of the CPU.
    config.stash[state.THREADS_KEY] = configure_threads()
    resolved = options.resolve_settings(config)
    settings = resolved.settings
    repair.check_usage(settings)
    check_judges(settings)
    vet(settings)
    subjects = make_subjects(settings.models)
    config.stash[state.RESOLVED_KEY] = resolved
    config.stash[state.SUBJECTS_KEY] = subjects
    config.stash[state.BACKEND_CHOICE_KEY] = (
        choose_backend(settings) if subjects else None
    )
    config.stash[state.ENVIRONMENT_KEY] = (
        describe_environment(subjects) if subjects else None
    )
    config.stash[state.PROGRESS_KEY] = progress_shows(config)
    config.stash[state.OUTCOMES_KEY] = {}
    repair.register(config, subjects)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Usage errors (exit 4), before anything runs: a suite YAML that does not
    validate, or suites collected with no checkpoint to test."""
    suite_files = {
        Path(found)
        for item in items
        if (found := getattr(getattr(item, "module", None), "SUITE_FILE", None))
    }
    for path in sorted(suite_files):
        check_suite_file(path)
    waiting = [i for i in items if "subject" in getattr(i, "fixturenames", ())]
    if waiting and not config.stash.get(state.SUBJECTS_KEY, ()):
        model = options.option_for(options.MODEL)
        raise pytest.UsageError(
            f"safety: {len(waiting)} suite test(s) collected but no checkpoint "
            f"under test; pass {model.flag} PATH (or set {model.env}), e.g. "
            f"pytest {model.flag} zoo:smol-aligned suites/"
        )


def check_suite_file(path: Path) -> None:
    """Validate a suite YAML (prompt suite or safety-layer suite).

    Raises:
        pytest.UsageError: naming the file, the field and what is allowed.
    """
    try:
        if "prompts" in read_yaml_mapping(path):
            load_suite(path).build_judge()
        else:
            load_policy(path)
    except HarnessError as e:
        raise pytest.UsageError(f"safety: {e}") from None


def check_judges(settings: RunSettings) -> None:
    """A judge that cannot be made (a model judge without its model) is a
    usage error now, not a failure of every suite later."""
    for flag, name in (
        (options.JUDGE, settings.judge),
        (options.JUDGE_COMPARE, settings.judge_compare),
    ):
        if name is None:
            continue
        try:
            settings.judge_options(name)
        except HarnessError as e:
            raise pytest.UsageError(f"safety: {flag} {name}: {e}") from None


def progress_shows(config: pytest.Config) -> bool:
    """Whether progress bars would reach a terminal.

    Asked now, while output capture is suspended: during a test, pytest points
    file descriptor 2 at a temporary file.
    """
    return not hasattr(config, "workerinput") and progress_enabled(sys.__stderr__)


def describe_environment(subjects: tuple[Subject, ...]) -> dict[str, Any]:
    """The library's environment variables and where each subject's weights lie.

    Raises:
        pytest.UsageError: a variable or a ``zoo:`` name is invalid.
    """
    try:
        return {
            "variables": library_environment(),
            "subjects": {s.ref: checkpoint_dir_of(s.ref) for s in subjects},
        }
    except HarnessError as e:
        raise pytest.UsageError(f"safety: {e}") from e


def vet(settings: RunSettings) -> None:
    """Check every named checkpoint before anything loads.

    Raises:
        pytest.UsageError: naming the option and the checkpoint.
    """
    try:
        vet_checkpoints(
            settings, model_flag=options.MODEL, baseline_flag=options.BASELINE
        )
    except HarnessError as e:
        raise pytest.UsageError(str(e)) from e


def choose_backend(settings: RunSettings) -> BackendChoice:
    """Resolve ``--backend``; a backend that cannot run here is a usage error."""
    try:
        return choose(settings.backend, settings.device)
    except HarnessError as e:
        raise pytest.UsageError(f"{options.BACKEND} {settings.backend}: {e}") from e


def pytest_report_header(config: pytest.Config) -> list[str]:
    resolved = config.stash.get(state.RESOLVED_KEY, None)
    if resolved is None:
        return []
    subjects = config.stash[state.SUBJECTS_KEY]
    if not subjects:
        return [
            f"safety: no checkpoint under test ({options.MODEL} PATH); "
            "collecting a suite is a usage error"
        ]
    lines = header_lines(resolved, subjects, config.stash[state.BACKEND_CHOICE_KEY])
    threads = config.stash.get(state.THREADS_KEY, None)
    if threads is not None:
        lines.append(f"safety: threads: {threads.describe()}")
    environment = config.stash.get(state.ENVIRONMENT_KEY, None)
    return lines + ([] if environment is None else environment_lines(environment))


def environment_lines(environment: dict[str, Any]) -> list[str]:
    """The library's variables (``[env]`` when set) and the subjects' directories."""
    variables = " ".join(
        f"{name}={entry['resolved']}" + (" [env]" if entry["value"] else "")
        for name, entry in environment["variables"].items()
    )
    weights = "; ".join(
        f"{ref} -> {path}" + ("" if built else " (not built yet)")
        for ref, (path, built) in environment["subjects"].items()
    )
    return [f"safety: environment: {variables}", f"safety: weights: {weights}"]


_TAGS = {"command line": "cli", "environment": "env", "ini": "ini"}


def header_lines(
    resolved: options.ResolvedSettings,
    subjects: tuple[Subject, ...],
    choice: BackendChoice | None,
) -> list[str]:
    """Describe the resolved settings; a value not from its default shows where
    it came from (``[cli]``, ``[env]`` or ``[ini]``)."""
    s = resolved.settings
    onoff = {True: "on", False: "off"}
    generation: list[tuple[str, object]] = [
        (options.DEVICE, s.device),
        (options.DTYPE, s.dtype),
        (options.BATCH_SIZE, s.batch_size),
        (options.MAX_NEW_TOKENS, s.max_new_tokens),
        (options.MAX_PROMPTS, s.max_prompts or "all"),
        (options.SEED, s.seed),
    ]
    if choice is not None and choice.name == "vllm":
        generation.append((options.TENSOR_PARALLEL_SIZE, s.tensor_parallel_size))
    gate = [
        (options.HARM_THRESHOLD, f"{s.harm_threshold:g}"),
        (options.OVER_REFUSAL_THRESHOLD, f"{s.over_refusal_threshold:g}"),
        (options.REPORT_DIR, s.report_dir),
        (options.ALLOW_PICKLE, onoff[s.allow_pickle]),
        (options.TRUST_REMOTE_CODE, onoff[s.trust_remote_code]),
        (options.REPAIR, onoff[s.repair]),
    ]
    models = ", ".join(f"{x.name} ({x.ref})" for x in subjects)
    backend = f"{choice.name} ({choice.reason})" if choice else s.backend
    return [
        f"safety: subjects: {models}; baseline: {s.baseline or 'none'}",
        f"safety: backend: {backend}; " + _pairs(resolved, generation),
        "safety: " + _pairs(resolved, gate),
    ]


def _pairs(resolved: options.ResolvedSettings, rows: list[tuple[str, object]]) -> str:
    shown = []
    for flag, value in rows:
        tag = _TAGS.get(resolved.sources[options.option_for(flag).field])
        shown.append(
            f"{flag.removeprefix('--')}={value}" + (f" [{tag}]" if tag else "")
        )
    return " ".join(shown)
