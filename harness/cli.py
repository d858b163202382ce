"""Command line: ``python -m harness <command>``.

Each feature registers its own subcommand; this module only dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from harness.errors import HarnessError

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Register]:
    from harness.localization.cli import register as register_locate
    from harness.repair.cli import register as register_repair
    from harness.zoo.cli import register as register_zoo

    return [register_zoo, register_locate, register_repair]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Safety-layer regression harness: reference models, "
        "localization, repair.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for register in _registrars():
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; library errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
