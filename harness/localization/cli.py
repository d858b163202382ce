"""``python -m harness locate --model X --out DIR``: safety layers (paper §3)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from harness.errors import ConfigError


def _pair(text: str) -> tuple[int, int]:
    """Parse ``A,B`` (two integers) for windows and ranges."""
    try:
        first, last = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two integers like 6,12 or -2,2, got {text!r}"
        ) from None
    return first, last


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``locate`` command."""
    from harness.localization.gap import GapRule

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
        data.add_argument(f"--{name}", metavar="FILE", help=f"{name} queries")
    run = parser.add_argument_group("run")
    run.add_argument("--device", default="auto", help="cpu, cuda, ... (default auto)")
    run.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="auto: bf16 where the hardware runs it natively, else fp32",
    )
    run.add_argument(
        "--template",
        default="auto",
        choices=("auto", "chat", "alpaca"),
        help="auto: the chat template if the tokenizer has one; alpaca: the paper's",
    )
    run.add_argument("--batch-size", type=int, default=128)
    run.add_argument(
        "--pairs",
        default="exact",
        choices=("exact", "sampled"),
        help="exact: every pair; sampled: 500 random pairs with the authors' seeds",
    )
    run.add_argument("--no-cache", action="store_true", help="recompute the profile")
    run.add_argument("--cache-dir", default=None, help="profile cache directory")
    existence = parser.add_argument_group("existence analysis")
    existence.add_argument(
        "--min-rise",
        type=float,
        default=GapRule().min_rise_deg,
        metavar="DEG",
        help="smallest gap rise (degrees) that counts as a band, besides beating "
        f"the permutation floor (default {GapRule().min_rise_deg})",
    )
    search = parser.add_argument_group("over-rejection search")
    search.add_argument(
        "--max-new-tokens", type=int, default=8, help="R_o tokens per query at most"
    )
    search.add_argument("--alpha", type=float, default=None, help="fix alpha")
    search.add_argument("--direction", default="auto", choices=("auto", "up", "down"))
    search.add_argument(
        "--initial-range",
        type=_pair,
        default=None,
        metavar="I,J",
        help="start the search here instead of from the gap curve",
    )
    for bound in ("upper", "lower"):
        search.add_argument(
            f"--{bound}-window",
            type=_pair,
            default=(-2, 2),
            metavar="A,B",
            help=f"{bound}-bound offsets A..B (write --{bound}-window=-2,2)",
        )
    search.add_argument(
        "--max-extension",
        type=int,
        default=3,
        metavar="N",
        help="grow a window by up to N layers while its winner sits on the edge "
        "(0: the paper's fixed windows)",
    )
    search.add_argument(
        "--no-o-proj", action="store_true", help="leave o_proj unscaled"
    )
    search.add_argument("--judge", default="opening", choices=("opening", "keyword"))
    parser.set_defaults(run=run_locate)


def settings_from_args(args: argparse.Namespace) -> Any:
    """Build :class:`LocalizationSettings` from parsed arguments."""
    from pydantic import ValidationError

    from harness.localization.gap import GapRule
    from harness.localization.search import SearchSettings
    from harness.localization.settings import LocalizationSettings

    try:
        search = SearchSettings(
            alpha=args.alpha,
            direction=args.direction,
            upper_window=args.upper_window,
            lower_window=args.lower_window,
            max_extension=args.max_extension,
        )
        return LocalizationSettings(
            template=args.template,
            batch_size=args.batch_size,
            pairs=args.pairs,
            gap=GapRule(min_rise_deg=args.min_rise),
            search=search,
            max_new_tokens=args.max_new_tokens,
            include_o_proj=not args.no_o_proj,
            judge=args.judge,
            initial_range=args.initial_range,
        )
    except ValidationError as e:
        raise ConfigError(f"invalid locate options: {e}") from e


def quiet_openmp() -> None:
    """Make idle OpenMP threads sleep instead of spinning.

    On a CPU shared with other jobs, spinning torch threads waste their time
    slices: here a batch took 160 s with spinning threads and 11 s without.
    It must happen before torch is imported, and a value the user set wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_locate(args: argparse.Namespace) -> int:
    """Run the localization and print a short summary."""
    from pathlib import Path

    quiet_openmp()

    from harness.checkpoint import LoadOptions, resolve_device
    from harness.localization.api import locate_safety_layers, summarize
    from harness.zoo import resolve_ref

    profile = locate_safety_layers(
        resolve_ref(args.model),
        ref=args.model,
        settings=settings_from_args(args),
        load_options=LoadOptions(device=resolve_device(args.device), dtype=args.dtype),
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
