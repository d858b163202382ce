"""Progress of long work on stderr: rich bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TextIO

Advance = Callable[[int], None]

#: ``0`` silences all progress output; ``bar`` or ``lines`` forces that mode.
PROGRESS_ENV = "SAFETY_HARNESS_PROGRESS"
#: Seconds between plain progress lines where stderr is not a terminal.
LINE_INTERVAL_ENV = "SAFETY_HARNESS_PROGRESS_INTERVAL"


Mode = Literal["off", "bar", "lines"]


def progress_mode(stream: TextIO | None = None) -> Mode:
    """How long work shows itself: rich bars, plain lines, or not at all.

    An interactive stderr gets rich bars; any other (a CI log, ``| tee``) gets
    a plain line every :data:`LINE_INTERVAL_ENV` seconds (default 30), so long
    work is never silent. ``SAFETY_HARNESS_PROGRESS=0`` turns both off; ``bar``
    or ``lines`` forces one.

    Args:
        stream: the stream to ask instead of ``sys.stderr`` (a test runner that
            captures output asks about the real terminal, ``sys.__stderr__``).
    """
    setting = (os.environ.get(PROGRESS_ENV) or "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return "off"
    if setting in ("bar", "lines"):
        return setting  # type: ignore[return-value]
    stream = sys.stderr if stream is None else stream
    if stream is None:
        return "off"
    return "bar" if stream.isatty() or setting in ("1", "true", "yes") else "lines"


def progress_enabled(stream: TextIO | None = None) -> bool:
    """Whether long work reports its progress at all (bars or lines)."""
    return progress_mode(stream) != "off"


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Advance]:
    """Yield a function that advances the progress of ``total`` items by ``n``."""
    mode = progress_mode()
    if mode == "off" or total <= 0:
        yield lambda n: None
    elif mode == "lines":
        with _progress_lines(total, description) as advance:
            yield advance
    else:
        with _rich_bar(total, description) as advance:
            yield advance


def progress_note(text: str) -> None:
    """One line of long work's state (a step begun or ended) on stderr."""
    if progress_mode() != "off":
        print(f"[harness] {text}", file=sys.stderr, flush=True)


def line_interval() -> float:
    """Seconds between two plain progress lines (see LINE_INTERVAL_ENV)."""
    try:
        return max(0.0, float(os.environ.get(LINE_INTERVAL_ENV, "30")))
    except ValueError:
        return 30.0


@dataclass
class ProgressLines:
    """Plain progress lines: stage, done/total, rate and time left, every interval."""

    total: int
    description: str
    interval: float
    stream: TextIO
    clock: Callable[[], float] = time.monotonic
    done: int = 0

    def __post_init__(self) -> None:
        self.started = self.last = self.clock()
        self._write(f"{self.description}: started, {self.total} to do")

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.interval and self.done < self.total:
            self.last = now
            self._write(self.status(now))

    def finish(self) -> None:
        elapsed = self.clock() - self.started
        self._write(
            f"{self.description}: {self.done}/{self.total} done in "
            f"{format_seconds(elapsed)}"
        )

    def status(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = format_seconds(left) if left is not None else "?"
        percent = 100 * self.done / self.total
        return (
            f"{self.description}: {self.done}/{self.total} ({percent:.0f}%), "
            f"{rate:.2f}/s, {format_seconds(elapsed)} elapsed, ~{eta} left"
        )

    def _write(self, text: str) -> None:
        print(f"[harness] {text}", file=self.stream, flush=True)


def format_seconds(value: float) -> str:
    """``75`` -> ``1m15s``; ``3725`` -> ``1h02m``."""
    seconds = round(value)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@contextmanager
def _progress_lines(total: int, description: str) -> Iterator[Advance]:
    lines = ProgressLines(total, description, line_interval(), sys.stderr)
    yield lines.advance
    lines.finish()


@contextmanager
def _rich_bar(total: int, description: str) -> Iterator[Advance]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def quiet_library_bars() -> Iterator[None]:
    """Silence transformers' (and, once imported, datasets') tqdm bars.

    Unless harness bars are on: then the libraries' bars show too.
    """
    import sys

    from transformers.utils import logging as hf_logging

    if progress_mode() == "bar" or not hf_logging.is_progress_bar_enabled():
        yield
        return
    datasets = sys.modules.get("datasets")
    quiet_datasets = datasets is not None and not datasets.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    if datasets is not None and not quiet_datasets:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
        if datasets is not None and not quiet_datasets:
            datasets.enable_progress_bars()
