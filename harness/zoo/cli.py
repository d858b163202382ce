"""``python -m harness zoo build|list|path|measure``: the reference models."""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.zoo import cache
from harness.zoo.recipes import PROFILES, zoo_recipes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``zoo`` command and its subcommands."""
    zoo = subparsers.add_parser(
        "zoo",
        help="build and locate the reference models (SmolLM2 zoo)",
        description="Reference models built offline from SmolLM2-135M-Instruct. "
        f"Cache: ${cache.ZOO_DIR_ENV} or the user cache directory.",
    )
    commands = zoo.add_subparsers(dest="zoo_command", required=True)
    build = commands.add_parser("build", help="build models (all by default)")
    build.add_argument("names", nargs="*", metavar="NAME", help="models to build")
    _profile_option(build)
    build.set_defaults(run=run_build)
    listing = commands.add_parser("list", help="list models, their state and rates")
    _profile_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)
    measure = commands.add_parser(
        "measure", help="measure built models again and update their manifests"
    )
    measure.add_argument("names", nargs="*", metavar="NAME", help="models to measure")
    _profile_option(measure)
    measure.set_defaults(run=run_measure)
    path = commands.add_parser("path", help="print a model's directory (builds it)")
    path.add_argument("name", metavar="NAME")
    _profile_option(path)
    path.set_defaults(run=run_path)


def _profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="recipe profile (default: $SAFETY_HARNESS_ZOO_PROFILE or full)",
    )


def run_build(args: argparse.Namespace) -> int:
    """Build the named models (or all) and print where each lies."""
    from harness.zoo import ensure_model

    names = args.names or list(zoo_recipes(args.profile))
    for name in names:
        path = ensure_model(name, args.profile)
        print(f"{name}\t{path}")
    return 0


def run_measure(args: argparse.Namespace) -> int:
    """Re-run the evaluation of built models; print their refusal rates."""
    from harness.zoo.build import remeasure

    for name in args.names or list(zoo_recipes(args.profile)):
        metrics = remeasure(name, args.profile)["metrics"]
        rates = "  ".join(f"{k}={v['refusal_rate']:.0%}" for k, v in metrics.items())
        print(f"{name}\t{rates}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    """Print the directory of one model, building it first if needed."""
    from harness.zoo import ensure_model

    print(ensure_model(args.name, args.profile))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every model of the profile: built or not, and its measured rates."""
    rows = [_describe(name, args.profile) for name in zoo_recipes(args.profile)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(_format_row(row))
    return 0


def _describe(name: str, profile: str | None) -> dict[str, Any]:
    from harness.zoo.build import cached_path

    path = cached_path(name, profile)
    row: dict[str, Any] = {"name": name, "path": str(path), "built": False}
    if cache.is_built(path):
        manifest = cache.read_manifest(path)
        rates = {k: v.get("refusal_rate") for k, v in manifest["metrics"].items()}
        row |= {"built": True, "refusal": rates, "timings": manifest["timings"]}
    return row


def _format_row(row: dict[str, Any]) -> str:
    if not row["built"]:
        return f"{row['name']:<18} not built  {row['path']}"
    rates = "  ".join(
        f"{k}={v:.0%}" for k, v in row["refusal"].items() if v is not None
    )
    build_s = row["timings"].get("build_s", 0.0)
    return f"{row['name']:<18} built ({build_s:.0f}s)  refusal: {rates}  {row['path']}"
