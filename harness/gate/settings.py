"""What a run judges with: the one settings object of the gate engine."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import GenerationBackend
from harness.config import RunSettings, Subject
from harness.judges import Judge
from harness.judges.base import Verdict

#: Makes a backend for a subject, or ``None`` to leave it to the built-in ones
#: (the pytest plugin's ``pytest_safety_create_backend`` hook comes in here).
BackendHook = Callable[[Subject, RunSettings], GenerationBackend | None]


def no_progress() -> AbstractContextManager[Any]:
    """The default progress context: nothing to redirect."""
    return nullcontext()


@dataclass(frozen=True)
class GateSettings:
    """Backends, judges and load options of every suite of one run.

    The pytest plugin and the repair ladder build one of these from the same
    :class:`~harness.config.RunSettings`, so a repair candidate is judged with
    the run's judge, backend, dtype and load options.
    """

    run: RunSettings
    #: Tried before the built-in backends (``--backend``).
    backend_hook: BackendHook | None = None
    #: Who provides backends through the hook: part of the baseline cache key,
    #: so a scripted backend never shares cached answers with the real model's.
    backend_tags: tuple[str, ...] = ()
    #: A judge that wins over the suites' own (a user's ``judge`` fixture);
    #: ``None``: ``--judge``, else the suite's judge, else ``keyword``.
    judge: Judge | None = None
    #: Entered around long work, so progress bars can reach a terminal.
    progress: Callable[[], AbstractContextManager[Any]] = no_progress
    #: Where JSON reports go (``None``: the run's ``--report-dir``).
    report_dir: Path | None = None

    @property
    def reports(self) -> Path:
        return self.report_dir if self.report_dir is not None else self.run.report_dir


@dataclass(frozen=True)
class SuiteCheck:
    """A prompt suite and its rule: the counted verdict and its highest rate."""

    suite: Path
    counted: Verdict
    threshold: float | None
