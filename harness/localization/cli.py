"""``python -m harness locate --model X --out DIR``: safety layers (paper §3).

Every localization option comes from a field of
:class:`~harness.localization.settings.LocalizationSettings` (or of the
:class:`~harness.localization.gap.GapRule` and
:class:`~harness.localization.search.SearchSettings` it holds), device and dtype
from :class:`~harness.config.RunSettings`: defaults, choices and help are
written once, on the models (:mod:`harness.cli_options`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.checkpoint import LoadOptions, resolve_device
from harness.cli_options import add_model_options, model_from_args
from harness.config import RunSettings
from harness.localization.api import locate_safety_layers, summarize
from harness.localization.gap import GapRule
from harness.localization.search import SearchSettings
from harness.localization.settings import LocalizationSettings
from harness.zoo import resolve_ref

#: Fields of each settings model the command exposes, in help order.
RUN_FIELDS = ("device", "dtype")
LOCALIZATION_FIELDS = ("template", "batch_size", "pairs", "sample_pairs", "seed")
GAP_FIELDS = ("min_rise_deg",)
SEARCH_FIELDS = (
    "alpha",
    "direction",
    "upper_window",
    "lower_window",
    "max_extension",
)
SEARCH_RUN_FIELDS = (
    "search_enabled",
    "max_new_tokens",
    "initial_range",
    "over_rejection_limit",
    "include_o_proj",
    "judge",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``locate`` command."""
    parser = subparsers.add_parser(
        "locate",
        help="localize the safety layers of a checkpoint (paper §3)",
        description="Existence analysis (cosine curves, angle gap, noise floor), "
        "then the over-rejection search. Writes safety_profile.json and .png.",
    )
    parser.add_argument("--model", required=True, help="checkpoint dir or zoo:NAME")
    parser.add_argument("--out", required=True, help="output directory")
    data = parser.add_argument_group("query sets (JSONL, CSV or plain text)")
    for name in ("normal", "malicious", "over-rejection"):
        data.add_argument(
            f"--{name}", metavar="FILE", help=f"{name} queries (default: shipped)"
        )
    run = parser.add_argument_group("run")
    add_model_options(run, RunSettings, RUN_FIELDS)
    add_model_options(run, LocalizationSettings, LOCALIZATION_FIELDS)
    run.add_argument("--no-cache", action="store_true", help="recompute the profile")
    run.add_argument("--cache-dir", default=None, help="profile cache directory")
    existence = parser.add_argument_group("existence analysis")
    add_model_options(
        existence,
        GapRule,
        GAP_FIELDS,
        dest="gap",
        names={"min_rise_deg": "--min-rise"},
        metavars={"min_rise_deg": "DEG"},
    )
    search = parser.add_argument_group("over-rejection search")
    add_model_options(
        search,
        LocalizationSettings,
        SEARCH_RUN_FIELDS,
        names={"include_o_proj": "--o-proj", "search_enabled": "--search"},
        metavars={"initial_range": "I,J", "over_rejection_limit": "N"},
    )
    add_model_options(
        search,
        SearchSettings,
        SEARCH_FIELDS,
        dest="search",
        metavars={"max_extension": "N"},
    )
    parser.set_defaults(run=run_locate)


def settings_from_args(args: argparse.Namespace) -> LocalizationSettings:
    """Build :class:`LocalizationSettings` from parsed arguments.

    Raises:
        ConfigError: a value the settings reject (``--initial-range 3,1``).
    """
    return model_from_args(LocalizationSettings, args)


def load_options_from_args(args: argparse.Namespace) -> LoadOptions:
    """Device and dtype, validated by :class:`RunSettings`."""
    run = model_from_args(RunSettings, args, fields=RUN_FIELDS)
    return LoadOptions(device=resolve_device(run.device), dtype=run.dtype)


def quiet_openmp() -> None:
    """Make idle OpenMP threads sleep instead of spinning.

    On a CPU shared with other jobs, spinning torch threads waste their time
    slices: here a batch took 160 s with spinning threads and 11 s without.
    It must happen before torch is imported, and a value the user set wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_locate(args: argparse.Namespace) -> int:
    """Run the localization and print a short summary."""
    quiet_openmp()
    profile = locate_safety_layers(
        resolve_ref(args.model),
        ref=args.model,
        settings=settings_from_args(args),
        load_options=load_options_from_args(args),
        queries={
            "normal": args.normal,
            "malicious": args.malicious,
            "over_rejection": args.over_rejection,
        },
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        out_dir=Path(args.out),
    )
    for line in summarize(profile):
        print(line)
    print(f"wrote {Path(args.out) / 'safety_profile.json'} and .png")
    return 0
