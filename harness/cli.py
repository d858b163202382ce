"""Command line: ``python -m harness <command>``.

Each feature registers its own subcommand; this module only dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from harness.errors import ConfigError, HarnessError
from harness.localization.cli import register as register_locate
from harness.repair.cli import register as register_repair
from harness.zoo.cli import register as register_zoo

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Register]:
    return [register_zoo, register_locate, register_repair]


#: pytest's exit status for a usage error; the command line uses it too.
USAGE_ERROR = 4


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit 4, as pytest's do."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def program_name(argv0: str | None = None) -> str:
    """``safety-harness`` as the console script, ``python -m harness`` otherwise."""
    name = Path(argv0 if argv0 is not None else sys.argv[0]).name
    return "python -m harness" if name in ("__main__.py", "") else name


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand."""
    parser = Parser(
        prog=program_name(),
        description="Safety-layer regression harness: reference models, "
        "localization, repair.",
    )
    # subcommand parsers are of the same class, so they exit 4 on a usage error
    commands: argparse._SubParsersAction[argparse.ArgumentParser] = (
        parser.add_subparsers(dest="command", required=True)  # type: ignore[assignment]
    )
    for register in _registrars():
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line: exit 4 for a usage mistake (a
    bad option or input file), 1 for any other library error."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
