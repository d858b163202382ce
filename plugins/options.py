"""Options of the ``safety`` group and their resolution into run settings.

Every option can be given three ways besides its default. The first one set
wins, in this order:

1. the command line: ``--batch-size 4``;
2. the environment: ``SAFETY_BATCH_SIZE=4`` (the flag, upper-cased, with
   ``SAFETY_`` in front; ``SAFETY_MODEL`` takes a comma-separated list);
3. the ini file: ``safety_batch_size = "4"`` under ``[tool.pytest.ini_options]``
   (``safety_model`` is a list, one checkpoint a line). Relative paths in the
   ini file are relative to that file.

Values are checked by the same ``type=`` callables on every route, so a bad
value is a usage error that names the option, wherever it came from.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from harness.checkpoint import ZOO_PREFIX
from harness.config import (
    RunSettings,
    default_text,
    field_bound,
    field_choices,
    field_description,
)
from harness.values import (
    batch_size,
    boolean,
    checkpoint_ref,
    choice,
    data_file,
    device_name,
    directory,
    fraction,
    judge_name,
    whole_number,
)

GROUP = "safety"

MODEL = "--model"
BASELINE = "--baseline"
BACKEND = "--backend"
DEVICE = "--device"
DTYPE = "--dtype"
BATCH_SIZE = "--batch-size"
MAX_NEW_TOKENS = "--max-new-tokens"
MAX_PROMPTS = "--max-prompts"
HARM_THRESHOLD = "--harm-threshold"
OVER_REFUSAL_THRESHOLD = "--over-refusal-threshold"
REPORT_DIR = "--report-dir"
SEED = "--seed"
REPAIR = "--repair"
REPAIR_DATA = "--repair-data"
REPAIR_HELDOUT = "--repair-heldout"
REPAIR_CONFIG = "--repair-config"
REPAIR_BASE = "--repair-base"
OVER_REJECTION = "--over-rejection"
ALLOW_PICKLE = "--allow-pickle"
TRUST_REMOTE_CODE = "--trust-remote-code"
TENSOR_PARALLEL_SIZE = "--tensor-parallel-size"
JUDGE = "--judge"
JUDGE_MODEL = "--judge-model"
JUDGE_COMPARE = "--judge-compare"
SEQUENTIAL = "--sequential"
SEQUENTIAL_ERROR = "--sequential-error"


Source = Literal["command line", "environment", "ini", "default"]


@dataclass(frozen=True)
class Option:
    """One option: its flag, the ``RunSettings`` field it sets, and its parser.

    The default, the allowed values and the help text are not restated here:
    they come from the ``RunSettings`` field (``harness.config``). Without an
    explicit ``parse``, the parser is derived from the field too: a ``Literal``
    gives a choice, an ``int`` a whole number of at least its ``ge``.
    """

    flag: str
    field: str
    parse_as: Callable[[str], Any] | None = None
    kind: Literal["value", "list", "flag"] = "value"
    metavar: str | None = None
    #: Relative values in the ini file are taken relative to that file.
    is_path: bool = False

    @property
    def name(self) -> str:
        return self.flag.removeprefix("--")

    @property
    def dest(self) -> str:
        return "safety_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return "SAFETY_" + self.name.replace("-", "_").upper()

    @property
    def ini(self) -> str:
        return self.dest

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed values, from the field's ``Literal`` (None: any)."""
        return field_choices(self.field)

    @property
    def default(self) -> str | None:
        """The field's default as docs show it (None: unset by default)."""
        return default_text(self.field)

    @property
    def meaning(self) -> str:
        """The field's description."""
        return field_description(self.field)

    @property
    def help(self) -> str:
        """The help text: the meaning, then the default when there is one."""
        default = self.default
        return self.meaning + (f" (default: {default})" if default else "")

    @property
    def parse(self) -> Callable[[str], Any]:
        """The ``type=`` callable that checks a value on every route."""
        if self.parse_as is not None:
            return self.parse_as
        if self.kind == "flag":
            return boolean
        if self.choices is not None:
            return choice(*self.choices)

        return whole_number(int(field_bound(self.field, "ge") or 0))


#: One entry per option; the rest (default, choices, help) is ``RunSettings``'.
OPTIONS: tuple[Option, ...] = (
    Option(MODEL, "models", checkpoint_ref, kind="list", metavar="PATH", is_path=True),
    Option(BASELINE, "baseline", checkpoint_ref, metavar="PATH", is_path=True),
    Option(BACKEND, "backend"),
    Option(DEVICE, "device", device_name),
    Option(DTYPE, "dtype"),
    Option(BATCH_SIZE, "batch_size", batch_size, metavar="N|auto"),
    Option(MAX_NEW_TOKENS, "max_new_tokens"),
    Option(MAX_PROMPTS, "max_prompts", metavar="N"),
    Option(HARM_THRESHOLD, "harm_threshold", fraction, metavar="RATE"),
    Option(OVER_REFUSAL_THRESHOLD, "over_refusal_threshold", fraction, metavar="RATE"),
    Option(REPORT_DIR, "report_dir", directory, metavar="DIR", is_path=True),
    Option(SEED, "seed"),
    Option(SEQUENTIAL, "sequential", kind="flag"),
    Option(SEQUENTIAL_ERROR, "sequential_error", fraction, metavar="RATE"),
    Option(REPAIR, "repair", kind="flag"),
    Option(REPAIR_DATA, "repair_data", data_file, metavar="FILE", is_path=True),
    Option(REPAIR_HELDOUT, "repair_heldout", data_file, metavar="FILE", is_path=True),
    Option(REPAIR_CONFIG, "repair_config", data_file, metavar="YAML", is_path=True),
    Option(REPAIR_BASE, "repair_base", checkpoint_ref, metavar="PATH", is_path=True),
    Option(OVER_REJECTION, "over_rejection", data_file, metavar="FILE", is_path=True),
    Option(ALLOW_PICKLE, "allow_pickle", kind="flag"),
    Option(TRUST_REMOTE_CODE, "trust_remote_code", kind="flag"),
    Option(TENSOR_PARALLEL_SIZE, "tensor_parallel_size", metavar="N"),
    Option(JUDGE, "judge", judge_name, metavar="NAME"),
    Option(JUDGE_MODEL, "judge_model", directory, metavar="DIR", is_path=True),
    Option(JUDGE_COMPARE, "judge_compare", judge_name, metavar="NAME"),
)


def option_for(flag: str) -> Option:
    """The option declared with ``flag`` (``--batch-size``, say)."""
    for option in OPTIONS:
        if option.flag == flag:
            return option
    raise KeyError(flag)


def options_table() -> str:
    """The README's options table (markdown), generated from ``OPTIONS``."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for option in OPTIONS:
        rows.append(
            f"| `{usage(option)}` | {_code(option.default)} | {option.meaning} |"
        )
    return "\n".join(rows) + "\n"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "–"


def usage(option: Option) -> str:
    """How the option is written: ``--flag``, ``--flag a|b`` or ``--flag N``."""
    if option.kind == "flag":
        return option.flag
    if option.choices is not None:
        return f"{option.flag} {'|'.join(option.choices)}".replace("|", "\\|")
    return f"{option.flag} {metavar(option)}"


def metavar(option: Option) -> str:
    """The placeholder of the option's value in help and docs."""
    return option.metavar or option.name.split("-")[-1].upper()


def add_options(parser: pytest.Parser) -> None:
    """Declare every option in the ``safety`` group, and its ini key."""
    group = parser.getgroup(GROUP, "safety gates for LLM checkpoints")
    for option in OPTIONS:
        help_text = f"{option.help}. Env: {option.env}; ini: {option.ini}"
        if option.kind == "flag":
            group.addoption(
                option.flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                dest=option.dest,
                help=help_text,
            )
        else:
            group.addoption(
                option.flag,
                action="append" if option.kind == "list" else "store",
                type=option.parse,
                default=None,
                dest=option.dest,
                metavar=metavar(option),
                help=help_text,
            )
        ini_type: Literal["linelist", "string"] = (
            "linelist" if option.kind == "list" else "string"
        )
        parser.addini(option.ini, option.help, type=ini_type, default=None)


@dataclass(frozen=True)
class ResolvedSettings:
    """Run settings with the source each one came from."""

    settings: RunSettings
    sources: Mapping[str, Source]


def resolve_settings(
    config: pytest.Config, environ: Mapping[str, str] | None = None
) -> ResolvedSettings:
    """Resolve every option once: command line > environment > ini > default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for option in OPTIONS:
        found = _from_cli(config, option)
        source: Source = "command line"
        if found is None:
            found, source = _from_env(environ, option), "environment"
        if found is None:
            found, source = _from_ini(config, option), "ini"
        if found is None:
            sources[option.field] = "default"
            continue
        values[option.field] = tuple(found) if option.kind == "list" else found
        sources[option.field] = source
    try:
        settings = RunSettings(**values)
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise pytest.UsageError(f"invalid safety settings: {e}") from e
    return ResolvedSettings(settings, sources)


def _from_cli(config: pytest.Config, option: Option) -> Any:
    value = config.getoption(option.dest)
    return value if value not in (None, []) else None


def _from_env(environ: Mapping[str, str], option: Option) -> Any:
    raw = environ.get(option.env, "").strip()
    if not raw:
        return None
    where = f"environment variable {option.env}={raw!r}"
    if option.kind == "list":
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        return [_parse(option, part, where) for part in parts] or None
    return _parse(option, raw, where)


def _from_ini(config: pytest.Config, option: Option) -> Any:
    raw = config.getini(option.ini)
    if raw in (None, "", []):
        return None
    where = f"ini option {option.ini} in {config.inipath}"
    if option.kind == "list":
        return [_parse(option, _ini_relative(config, option, v), where) for v in raw]
    return _parse(option, _ini_relative(config, option, str(raw)), where)


def _ini_relative(config: pytest.Config, option: Option, raw: str) -> str:
    value = raw.strip()
    if not option.is_path or value.startswith(ZOO_PREFIX) or config.inipath is None:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else config.inipath.parent / path)


def _parse(option: Option, raw: str, where: str) -> Any:
    try:
        return option.parse(raw)
    except argparse.ArgumentTypeError as e:
        raise pytest.UsageError(f"{option.flag} (from {where}): {e}") from None
