"""Validators of option values, as argparse ``type=`` callables.

Each raises :class:`argparse.ArgumentTypeError` with what it expected and what
it got; the pytest plugin runs them on the command line, the environment and
the ini file alike, so a bad value is a usage error that names the option,
wherever it came from.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from harness.checkpoint import ZOO_PREFIX
from harness.config import DEVICE_PATTERN
from harness.judges import is_judge_name, judge_names

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def checkpoint_ref(text: str) -> str:
    """A checkpoint directory that exists, or a ``zoo:NAME`` reference."""
    ref = text.strip()
    if ref.startswith(ZOO_PREFIX):
        if not ref[len(ZOO_PREFIX) :]:
            raise argparse.ArgumentTypeError(f"zoo reference without a name: {text!r}")
        return ref
    if not ref:
        raise argparse.ArgumentTypeError("empty checkpoint path")
    path = Path(ref).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no checkpoint directory at {ref!r}")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{ref!r} is a file; pass the directory that holds config.json "
            "and the weights"
        )
    return ref


def choice(*allowed: str) -> Callable[[str], str]:
    """A validator that accepts one of ``allowed`` (case-insensitive)."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise argparse.ArgumentTypeError(
                f"expected one of {', '.join(allowed)}; got {text!r}"
            )
        return value

    return parse


def whole_number(minimum: int) -> Callable[[str], int]:
    """A validator of integers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number >= {minimum}; got {text!r}"
            )
        return value

    return parse


positive_int = whole_number(1)


def fraction(text: str) -> float:
    """A rate between 0 and 1, written ``0.05`` or ``5%``."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a rate between 0 and 1 (or 0% to 100%); got {text!r}"
        )
    return value


def device_name(text: str) -> str:
    """``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``."""
    value = text.strip().lower()
    if not re.match(DEVICE_PATTERN, value):
        raise argparse.ArgumentTypeError(
            f"expected auto, cpu, mps, cuda or cuda:N; got {text!r}"
        )
    return value


def directory(text: str) -> Path:
    """A directory path (created when a report is written)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty directory path")
    return Path(text.strip()).expanduser()


def data_file(text: str) -> Path:
    """A file that exists (the data is read, and validated, when it is used)."""
    path = Path(text.strip()).expanduser()
    if not text.strip() or not path.is_file():
        raise argparse.ArgumentTypeError(f"no data file at {text!r}")
    return path


def judge_name(text: str) -> str:
    """A registered judge, or ``model:REF`` / ``keyword-then-model:REF``."""
    prefix, sep, ref = text.strip().partition(":")
    value = prefix.lower() + sep + ref  # REF keeps its case: it may be a path
    if not is_judge_name(value):
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(judge_names())}, or model:REF / "
            f"keyword-then-model:REF (REF a directory or zoo:NAME); got {text!r}"
        )
    return value


def batch_size(text: str) -> int | str:
    """``auto`` or a whole number of at least 1."""
    value = text.strip().lower()
    return "auto" if value == "auto" else whole_number(1)(value)


def boolean(text: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off``, for the environment and ini."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")
