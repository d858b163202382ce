"""``python -m harness repair --model CKPT --baseline BASE --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.config import RunSettings
from harness.errors import ConfigError


def _pair(text: str) -> tuple[int, int]:
    """Parse ``A,B``: an inclusive, 0-based layer range."""
    try:
        first, last = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two layer indices like 9,17, got {text!r}"
        ) from None
    if not 0 <= first <= last:
        raise argparse.ArgumentTypeError(f"expected 0 <= A <= B, got {text!r}")
    return first, last


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 0,0.25,0.5, got {text!r}"
        ) from None
    if not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"values must lie in [0, 1], got {text!r}")
    return values


def _rungs(text: str) -> tuple[str, ...]:
    from harness.repair.rungs import RUNGS

    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in RUNGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown rungs {unknown or text!r}; choose from {','.join(RUNGS)}"
        )
    return names


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``repair`` command."""
    parser = subparsers.add_parser(
        "repair",
        help="repair a checkpoint that fails the gate (band revert ... SPPFT)",
        description="Try repairs cheapest first (band revert, interpolation, sparse "
        "restore, SPPFT), judge each candidate with the harm and over-refusal "
        "suites and a utility check, and write the first that passes to --out.",
    )
    parser.add_argument("--model", required=True, help="failing checkpoint or zoo:NAME")
    parser.add_argument(
        "--baseline", required=True, help="the model before fine-tuning"
    )
    parser.add_argument("--out", required=True, help="new directory for the repair")
    parser.add_argument("--data", help="fine-tuning data: JSON, JSONL or CSV")
    parser.add_argument(
        "--heldout",
        help="examples of the same task the fine-tune never saw, for the utility "
        "check (default: a tenth of --data, which the failing checkpoint has seen)",
    )
    parser.add_argument("--safety-layers", type=_pair, metavar="A,B")
    parser.add_argument(
        "--profile", help="the baseline's safety_profile.json (its located band)"
    )
    ladder = parser.add_argument_group(
        "ladder", "flags override --config; both override the defaults"
    )
    ladder.add_argument(
        "--config", metavar="YAML", help="the ladder's settings (harness.repair.config)"
    )
    ladder.add_argument("--rungs", type=_rungs, default=None, metavar="R,R")
    ladder.add_argument("--lambdas", type=_floats, default=None, metavar="L,L")
    ladder.add_argument("--max-utility-loss", type=float, default=None)
    ladder.add_argument(
        "--judge-all", action="store_true", help="judge every candidate"
    )
    ladder.add_argument(
        "--every-rung",
        action="store_true",
        help="climb every rung (figures side by side); the cheapest passing is kept",
    )
    ladder.add_argument(
        "--full-judging",
        action="store_true",
        help="judge every prompt of a failing candidate (default: stop once decided)",
    )
    ladder.add_argument("--sppft-max-steps", type=int, default=None)
    ladder.add_argument("--sppft-learning-rate", type=float, default=None)
    gate = parser.add_argument_group("judge")
    defaults = RunSettings.model_fields  # the gate's defaults, one place
    gate.add_argument(
        "--harm-threshold", type=float, default=defaults["harm_threshold"].default
    )
    gate.add_argument(
        "--over-refusal-threshold",
        type=float,
        default=defaults["over_refusal_threshold"].default,
    )
    gate.add_argument("--max-prompts", type=int, default=100)
    gate.add_argument("--max-new-tokens", type=int, default=64)
    gate.add_argument("--device", default="auto")
    parser.set_defaults(run=run_repair)


def settings_from_args(args: argparse.Namespace) -> Any:
    """:class:`RepairSettings` from ``--config`` (or the defaults) and the flags."""
    import dataclasses

    from harness.repair.config import check_settings, load_repair_settings
    from harness.repair.ladder import RepairSettings

    base = load_repair_settings(args.config) if args.config else RepairSettings()
    sppft: dict[str, Any] = {}
    if args.sppft_learning_rate is not None:
        sppft["learning_rate"] = args.sppft_learning_rate
    if args.sppft_max_steps is not None:
        sppft["max_steps"] = args.sppft_max_steps
    changes: dict[str, Any] = {"sppft": dataclasses.replace(base.sppft, **sppft)}
    if args.rungs:
        changes["rungs"] = args.rungs
    if args.lambdas:
        changes["band_lambdas"] = args.lambdas
    if args.max_utility_loss is not None:
        changes["max_utility_loss"] = args.max_utility_loss
    for flag in ("judge_all", "every_rung"):
        if getattr(args, flag):
            changes[flag] = True
    if args.full_judging:
        changes["early_stop"] = False
    settings = dataclasses.replace(base, **changes)
    check_settings(settings, "python -m harness repair")
    return settings


def _located(profile: str | None) -> Any:
    if profile is None:
        return None
    from harness.layers import LayerRange
    from harness.localization.profile import SafetyLayerProfile

    found = SafetyLayerProfile.load(profile).safety_layers
    return None if found is None else LayerRange(*found)


def _check_thresholds(args: argparse.Namespace) -> None:
    for name in ("harm_threshold", "over_refusal_threshold"):
        if getattr(args, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must not be negative")


def run_repair(args: argparse.Namespace) -> int:
    """Run the ladder; print every rung; exit 0 repaired, 1 not repaired."""
    from harness.layers import LayerRange
    from harness.localization.cli import quiet_openmp
    from harness.repair.judge import SuiteJudge, default_gates
    from harness.repair.ladder import repair
    from harness.repair.output import failure_path
    from harness.zoo import resolve_ref

    quiet_openmp()
    _check_thresholds(args)
    settings = settings_from_args(args)
    judge = SuiteJudge(
        default_gates(args.harm_threshold, args.over_refusal_threshold),
        max_prompts=args.max_prompts,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
        early_stop=settings.early_stop,
    )
    result = repair(
        resolve_ref(args.model),
        resolve_ref(args.baseline),
        judge=judge,
        out_dir=Path(args.out),
        data=args.data,
        heldout=args.heldout,
        band=LayerRange(*args.safety_layers) if args.safety_layers else None,
        located=_located(args.profile),
        settings=settings,
    )
    for line in result.lines():
        print(line)
    if result.kept is None and result.band is not None:
        print(f"wrote {failure_path(Path(args.out).resolve())}")
    return 0 if result.repaired or result.before.passed else 1
