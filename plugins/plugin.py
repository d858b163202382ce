"""Entry module of the pytest plugin (``pytest11`` entry point ``safety``).

It declares the options and hooks, resolves the run settings once, vets the
checkpoints named on the command line, and registers the fixture modules. It
imports nothing heavy: torch, transformers and vllm load inside fixtures. The
options read their defaults, choices and help from ``harness.config.RunSettings``
(pydantic, tens of milliseconds), so ``--help`` and the README cannot drift.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Any

import pytest

from plugins import options, repair, state

if TYPE_CHECKING:
    from harness.backends import BackendChoice
    from harness.config import RunSettings, Subject

#: Modules holding fixtures and hooks; each is registered when it exists, so a
#: feature adds its module here and nothing else changes.
FIXTURE_MODULES = ("plugins.fixtures", "plugins.reporting", "plugins.safety_layers")


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


pytest_plugins = [name for name in FIXTURE_MODULES if _exists(name)]


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from plugins import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help or config.option.version:
        return
    resolved = options.resolve_settings(config)
    settings = resolved.settings
    repair.check_usage(settings)
    vet_checkpoints(settings)
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
    config.stash[state.LOAD_SECONDS_KEY] = {}
    config.stash[state.OUTCOMES_KEY] = {}
    if subjects and not hasattr(config, "workerinput"):  # xdist workers: no summary
        from plugins.reporting import SafetyReporter

        config.pluginmanager.register(SafetyReporter(), SafetyReporter.name)
    repair.register(config, subjects)


def progress_shows(config: pytest.Config) -> bool:
    """Whether progress bars would reach a terminal.

    Asked now, while output capture is suspended: during a test, pytest points
    file descriptor 2 at a temporary file.
    """
    from harness.progress import progress_enabled

    return not hasattr(config, "workerinput") and progress_enabled(sys.__stderr__)


def describe_environment(subjects: tuple[Subject, ...]) -> dict[str, Any]:
    """The library's environment variables and where each subject's weights lie.

    Raises:
        pytest.UsageError: a variable or a ``zoo:`` name is invalid.
    """
    from harness.environment import checkpoint_dir_of, library_environment
    from harness.errors import HarnessError

    try:
        return {
            "variables": library_environment(),
            "subjects": {s.ref: checkpoint_dir_of(s.ref) for s in subjects},
        }
    except HarnessError as e:
        raise pytest.UsageError(f"safety: {e}") from e


def vet_checkpoints(settings: RunSettings) -> None:
    """Check every named checkpoint directory before anything loads.

    Raises:
        pytest.UsageError: naming the option and the checkpoint.
    """
    from harness.checkpoint import ZOO_PREFIX, inspect_checkpoint
    from harness.errors import HarnessError

    named = [(options.MODEL, ref) for ref in settings.models]
    if settings.baseline is not None:
        named.append((options.BASELINE, settings.baseline))
    for flag, ref in named:
        if ref.startswith(ZOO_PREFIX):
            continue  # built on first use
        try:
            inspect_checkpoint(
                ref,
                allow_pickle=settings.allow_pickle,
                trust_remote_code=settings.trust_remote_code,
            )
        except HarnessError as e:
            raise pytest.UsageError(f"{flag} {ref}: {e}") from e
    check_baseline_shape(settings)


def check_baseline_shape(settings: RunSettings) -> None:
    """Refuse a baseline of another architecture, depth or vocabulary.

    Only local directories with a ``config.json`` are compared here (a zoo
    model is built later, an adapter has its base's config); the safety-layer
    suite checks the rest when it compares weights.

    Raises:
        pytest.UsageError: naming both checkpoints and what differs.
    """
    import json
    from pathlib import Path

    from harness.drift.weights import check_compatible, model_shape
    from harness.errors import IncompatibleModelsError

    def shape_of(ref: str) -> Any:
        file = Path(ref) / "config.json"
        if ref.startswith(options.ZOO_PREFIX) or not file.is_file():
            return None
        try:
            return model_shape(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None  # vetting and loading report unreadable configs

    if settings.baseline is None or (baseline := shape_of(settings.baseline)) is None:
        return
    for ref in settings.models:
        shape = shape_of(ref)
        if shape is None:
            continue
        try:
            check_compatible(shape, baseline, names=(ref, settings.baseline))
        except IncompatibleModelsError as e:
            raise pytest.UsageError(
                f"{options.BASELINE} {settings.baseline}: {e}"
            ) from e


def make_subjects(refs: tuple[str, ...]) -> tuple[Subject, ...]:
    """One subject per reference; repeated names get a ``-2``, ``-3`` suffix."""
    from harness.config import Subject

    subjects: list[Subject] = []
    taken: set[str] = set()
    for ref in dict.fromkeys(refs):  # the same checkpoint twice is one subject
        subject = Subject.from_ref(ref)
        name, number = subject.name, 1
        while name in taken:
            number += 1
            name = f"{subject.name}-{number}"
        taken.add(name)
        subjects.append(Subject(ref=ref, name=name))
    return tuple(subjects)


def choose_backend(settings: RunSettings) -> BackendChoice:
    """Resolve ``--backend``; a backend that cannot run here is a usage error."""
    from harness.backends import choose_backend as choose
    from harness.errors import HarnessError

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
            "suites that need one are skipped"
        ]
    lines = header_lines(resolved, subjects, config.stash[state.BACKEND_CHOICE_KEY])
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
    generation = [
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
