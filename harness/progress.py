"""Progress bars for long work, on stderr, quiet when not wanted."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[[int], None]

#: Set to "0" to silence every progress bar of the harness.
PROGRESS_ENV = "SAFETY_HARNESS_PROGRESS"


def progress_enabled(stream: TextIO | None = None) -> bool:
    """Bars show on an interactive stderr unless the environment turns them off.

    Args:
        stream: the stream to ask instead of ``sys.stderr`` (a test runner that
            captures output asks about the real terminal, ``sys.__stderr__``).
    """
    setting = os.environ.get(PROGRESS_ENV)
    if setting is not None:
        return setting not in ("0", "false", "no", "")
    stream = sys.stderr if stream is None else stream
    return stream is not None and stream.isatty()


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Advance]:
    """Yield a function that advances a rich progress bar by ``n`` items."""
    if not progress_enabled() or total <= 0:
        yield lambda n: None
        return
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
    """Silence transformers' own tqdm bars while harness bars are off."""
    from transformers.utils import logging as hf_logging

    if progress_enabled() or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
