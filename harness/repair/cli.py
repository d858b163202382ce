"""``python -m harness repair --model CKPT --baseline BASE --out DIR``.

The ladder's flags are built from :class:`~harness.repair.settings.RepairSettings`
(nested ``sppft``/``patch`` fields become ``--sppft-*``/``--patch-*``) and the
judge's from :class:`~harness.config.RunSettings` by
:func:`harness.cli_options.add_model_options`: each flag's value check, help
and shown default come from its field, never retyped here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.checkpoint import checkpoint_path
from harness.cli_options import NESTED, add_model_options, int_pair, model_values
from harness.config import RunSettings
from harness.errors import CheckpointError, ConfigError
from harness.io import describe_errors
from harness.layers import LayerRange
from harness.localization.cli import quiet_openmp
from harness.localization.profile import SafetyLayerProfile
from harness.repair.candidates import gate_candidate_judge
from harness.repair.config import load_repair_settings
from harness.repair.ladder import repair
from harness.repair.output import failure_path
from harness.repair.settings import RepairSettings
from harness.repair.unaligned import zoo_unaligned_base
from harness.zoo import resolve_ref

#: The judge's settings the command exposes (the rest keep their defaults).
GATE_FIELDS = (
    "judge",
    "backend",
    "device",
    "dtype",
    "batch_size",
    "max_new_tokens",
    "max_prompts",
    "harm_threshold",
    "over_refusal_threshold",
)
_DEST = "ladder"
_GATE = "gate"


def _layer_range(text: str) -> LayerRange:
    """Parse ``A,B``: an inclusive, 0-based layer range."""
    first, last = int_pair(text)
    if not 0 <= first <= last:
        raise argparse.ArgumentTypeError(f"expected 0 <= A <= B, got {text!r}")
    return LayerRange(first, last)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``repair`` command."""
    parser = subparsers.add_parser(
        "repair",
        help="repair a checkpoint that fails the gate (weight edits ... SPPFT)",
        description="Try repairs cheapest first (band revert, interpolation, "
        "safety vector, subspace projection, refusal direction, sparse restore, "
        "patch fine-tune, SPPFT), judge each candidate with the harm and "
        "over-refusal suites and a utility check, and write the first that "
        "passes to --out. A rerun after a kill resumes from the last finished "
        "candidate.",
    )
    _inputs(parser)
    ladder = parser.add_argument_group(
        "ladder", "flags override --config; both override the defaults"
    )
    ladder.add_argument(
        "--config", metavar="YAML", help="the ladder's settings (harness.repair.config)"
    )
    add_model_options(ladder, RepairSettings, dest=_DEST)
    ladder.add_argument(
        "--full-judging",
        action="store_false",
        dest=f"{_DEST}{NESTED}early_stop",
        default=argparse.SUPPRESS,
        help="judge every prompt of a failing candidate (same as --no-early-stop)",
    )
    gate = parser.add_argument_group("judge", "the gate's settings for every candidate")
    add_model_options(gate, RunSettings, GATE_FIELDS, dest=_GATE)
    parser.set_defaults(run=run_repair)


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="failing checkpoint or zoo:NAME")
    parser.add_argument(
        "--baseline", required=True, help="the aligned model before fine-tuning"
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help="the baseline's unaligned base, for the safety-vector and projection "
        "rungs (default for a zoo baseline: the model it was aligned from)",
    )
    parser.add_argument("--out", required=True, help="new directory for the repair")
    parser.add_argument("--data", help="fine-tuning data: JSON, JSONL or CSV")
    parser.add_argument(
        "--heldout",
        help="examples of the same task the fine-tune never saw, for the utility "
        "check (default: a tenth of --data, which the failing checkpoint has seen)",
    )
    parser.add_argument(
        "--safety-layers",
        type=_layer_range,
        metavar="A,B",
        help="the band the band-revert and SPPFT rungs act on (inclusive, 0-based; "
        "default: --profile's located band, else the blocks of largest drift)",
    )
    parser.add_argument(
        "--profile", help="the baseline's safety_profile.json (its located band)"
    )


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_from_args(args: argparse.Namespace) -> RepairSettings:
    """:class:`RepairSettings` from ``--config`` (or the defaults) and the flags."""
    base = load_repair_settings(args.config) if args.config else RepairSettings()
    merged = _merge(base.model_dump(), model_values(args, _DEST))
    try:
        return RepairSettings.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(describe_errors("python -m harness repair", e)) from e


def run_settings_from_args(args: argparse.Namespace, baseline: str) -> RunSettings:
    """The judge's :class:`RunSettings`: the flags given, defaults for the rest."""
    given = model_values(args, _GATE)
    values = {"models": (args.model,), "baseline": baseline, **given}
    try:
        return RunSettings.model_validate(values)
    except ValidationError as e:
        raise ConfigError(describe_errors("python -m harness repair", e)) from e


def _located(profile: str | None) -> LayerRange | None:
    if profile is None:
        return None
    found = SafetyLayerProfile.load(profile).safety_layers
    return None if found is None else LayerRange(*found)


def _base(args: argparse.Namespace) -> str | None:
    """``--base``, or the zoo baseline's unaligned parent (resolved)."""
    ref = args.base or zoo_unaligned_base(args.baseline)
    return None if ref is None else _input(ref)


def _input(ref: str) -> str:
    """A checkpoint reference resolved to its directory; a bad one is a usage error."""
    try:
        return str(checkpoint_path(resolve_ref(ref)))
    except CheckpointError as e:
        raise ConfigError(str(e)) from e


def run_repair(args: argparse.Namespace) -> int:
    """Run the ladder; print every rung; exit 0 repaired, 1 not repaired."""
    quiet_openmp()
    settings = settings_from_args(args)
    failing, baseline = _input(args.model), _input(args.baseline)
    run = run_settings_from_args(args, baseline)
    judge = gate_candidate_judge(run, baseline=baseline, early_stop=settings.early_stop)
    result = repair(
        failing,
        baseline,
        judge=judge,
        out_dir=Path(args.out),
        base=_base(args),
        data=args.data,
        heldout=args.heldout,
        band=args.safety_layers,
        located=_located(args.profile),
        settings=settings,
        judge_key=run.model_dump_json(),
    )
    for line in result.lines():
        print(line)
    if result.kept is None and result.band is not None:
        print(f"wrote {failure_path(Path(args.out).resolve())}")
    return 0 if result.repaired or result.before.passed else 1
