"""``python -m harness repair --model CKPT --baseline BASE --out DIR``.

The ladder's flags are built from :class:`~harness.repair.settings.RepairSettings`
(nested ``sppft``/``patch`` fields become ``--sppft-*``/``--patch-*``) and the
judge's from :class:`~harness.config.RunSettings`: each flag's value check,
help and shown default come from its field, never retyped here.
"""

from __future__ import annotations

import argparse
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from harness.checkpoint import checkpoint_path
from harness.cli_options import default_text, int_pair
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
#: Older spellings kept as aliases of a generated flag.
ALIASES = {"band_lambdas": ("--lambdas",)}
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
    add_model_options(ladder, RepairSettings, _DEST)
    ladder.add_argument(
        "--full-judging",
        action="store_false",
        dest=f"{_DEST}__early_stop",
        default=None,
        help="judge every prompt of a failing candidate (same as --no-early-stop)",
    )
    gate = parser.add_argument_group("judge", "the gate's settings for every candidate")
    add_model_options(gate, RunSettings, _GATE, fields=GATE_FIELDS)
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


def add_model_options(
    group: argparse._ArgumentGroup,
    model: type[BaseModel],
    dest: str,
    *,
    fields: tuple[str, ...] | None = None,
    prefix: str = "",
) -> None:
    """One flag per field of ``model`` (nested models get a prefix), unset by default.

    Each flag's help is the field's description with its default; its value
    is checked by the model itself, so a bad value names the field and range.
    """
    for name, info in model.model_fields.items():
        if fields is not None and name not in fields:
            continue
        nested = _nested_model(info.annotation)
        if nested is not None:
            add_model_options(
                group, nested, f"{dest}__{name}", prefix=f"{prefix}{name}-"
            )
            continue
        flags = [f"--{prefix}{name.replace('_', '-')}", *ALIASES.get(name, ())]
        text = f"{info.description or name} (default: {default_text(info)})"
        if _is_bool(info.annotation):
            group.add_argument(
                *flags,
                dest=f"{dest}__{name}",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=text,
            )
            continue
        group.add_argument(
            *flags,
            dest=f"{dest}__{name}",
            type=_parser(model, name),
            default=None,
            metavar=_metavar(info.annotation),
            help=text,
        )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return set(get_args(annotation)) == {bool, type(None)}
    return False


def _is_tuple(annotation: Any) -> bool:
    return get_origin(annotation) is tuple


def _metavar(annotation: Any) -> str:
    """``N`` for integers, ``X`` for numbers, ``X,X`` for lists, ``R,R`` for rungs."""
    if _is_tuple(annotation):
        item = get_args(annotation)[0]
        return "R,R" if get_origin(item) is Literal else f"{_metavar(item)},..."
    plain = get_args(annotation)[0] if get_origin(annotation) is Annotated else None
    kind = plain or annotation
    if get_origin(kind) in (Union, types.UnionType):
        kind = next(a for a in get_args(kind) if a is not type(None))
    return {int: "N", float: "X"}.get(kind, "TEXT")


def _parser(model: type[BaseModel], name: str) -> Any:
    """Parse a flag's text and validate it as ``model``'s field ``name``."""
    many = _is_tuple(model.model_fields[name].annotation)
    flag = name.replace("_", "-")

    def parse(text: str) -> Any:
        value: Any = [p.strip() for p in text.split(",") if p.strip()] if many else text
        try:
            return getattr(model.model_validate({name: value}), name)
        except ValidationError as e:
            problems = "; ".join(_message(item) for item in e.errors())
            raise argparse.ArgumentTypeError(
                f"field {name!r} (--{flag}): {problems}"
            ) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _message(item: Any) -> str:
    where = ".".join(str(p) for p in item["loc"][1:])
    return f"{item['msg']}" + (f" (item {where})" if where else "")


def _collect(args: argparse.Namespace, dest: str) -> dict[str, Any]:
    """The flags given under ``dest``, as a nested dict of field values."""
    values: dict[str, Any] = {}
    for key, value in vars(args).items():
        if value is None or not key.startswith(dest + "__"):
            continue
        *path, name = key.split("__")[1:]
        place = values
        for part in path:
            place = place.setdefault(part, {})
        place[name] = value
    return values


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
    merged = _merge(base.model_dump(), _collect(args, _DEST))
    try:
        return RepairSettings.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(describe_errors("python -m harness repair", e)) from e


def run_settings_from_args(args: argparse.Namespace, baseline: str) -> RunSettings:
    """The judge's :class:`RunSettings`: the flags given, defaults for the rest."""
    values = {"models": (args.model,), "baseline": baseline, **_collect(args, _GATE)}
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
