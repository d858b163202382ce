"""Command-line options built from the pydantic models that hold the settings.

A settings model is the one source of each option's default, type, choices and
meaning (``Field(description=...)``). A command adds options for the fields it
exposes, then validates what the user gave through the same model::

    parser = argparse.ArgumentParser()
    add_model_options(parser, LocalizationSettings, ["batch_size", "pairs"])
    add_model_options(parser, GapRule, ["min_rise_deg"], dest="gap")
    args = parser.parse_args()
    settings = model_from_args(LocalizationSettings, args)

Options default to :data:`argparse.SUPPRESS`: an option the user did not give
is absent from the namespace, so the model's own default applies and no default
is typed twice. The help text is the field's description followed by its
default. Field types map to options as follows:

* ``bool``: ``--name`` / ``--no-name`` (:class:`argparse.BooleanOptionalAction`);
* ``Literal[...]`` and :class:`enum.Enum`: ``choices``;
* ``int``, ``float``, ``str``, :class:`pathlib.Path`: ``type=``;
* a ``NamedTuple`` or ``tuple`` of two ``int`` (``LayerRange``, windows): ``A,B``;
* any other ``tuple[X, ...]``: a comma-separated list (``0.5,1,1.5``), each item
  checked by the model;
* ``X | None``: as ``X`` (the option sets a value; leaving it out keeps None);
* a nested model: its own fields, prefixed (``--sppft-max-steps`` for
  ``RepairSettings.sppft.max_steps``).
"""

from __future__ import annotations

import argparse
import enum
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from harness.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

#: Separates a nested model's name from its field's in an option's ``dest``.
NESTED = "."

Parser = argparse.ArgumentParser | argparse._ArgumentGroup


def option_name(field: str) -> str:
    """``max_new_tokens`` -> ``--max-new-tokens``."""
    return "--" + field.replace("_", "-")


def int_pair(text: str) -> tuple[int, int]:
    """Parse ``A,B`` (two integers, e.g. ``6,12`` or ``-2,2``)."""
    try:
        first, last = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two integers like 6,12 or -2,2, got {text!r}"
        ) from None
    return first, last


def add_model_options(
    parser: Parser,
    model: type[BaseModel],
    fields: Sequence[str] | None = None,
    *,
    dest: str = "",
    names: Mapping[str, str] | None = None,
    metavars: Mapping[str, str] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Add one option per field of ``model``, described by the field itself.

    Args:
        parser: A parser or an argument group.
        model: The pydantic model that holds the defaults.
        fields: The fields to expose, in order (default: every field).
        dest: For a model nested in another (``LocalizationSettings.gap``), the
            field that holds it (``"gap"``); :func:`model_from_args` nests the
            values again.
        names: Option strings other than :func:`option_name` of the field.
        metavars: Metavars other than the default one.
        choices: Allowed values of ``str`` fields that the model checks with
            a validator against a list kept elsewhere.

    Raises:
        KeyError: a field is unknown or has no description (every option has help).
    """
    names, metavars = names or {}, metavars or {}
    for name in fields if fields is not None else list(model.model_fields):
        info = model.model_fields[name]
        nested = _without_none(info.annotation)
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            inner = f"{dest}{NESTED}{name}" if dest else name
            prefix = names.get(name, option_name(name))
            _add_nested(parser, nested, inner, prefix)
            continue
        if not info.description:
            raise KeyError(f"{model.__name__}.{name} has no description")
        kwargs = _argument(info)
        if "type" in kwargs and "metavar" not in kwargs:
            kwargs["metavar"] = name.upper()
        if name in metavars:
            kwargs["metavar"] = metavars[name]
        if choices and name in choices:
            kwargs["choices"] = tuple(choices[name])
            kwargs.pop("metavar", None)
        parser.add_argument(
            names.get(name, option_name(name)),
            dest=f"{dest}{NESTED}{name}" if dest else name,
            default=argparse.SUPPRESS,
            help=f"{info.description} (default: {default_text(info)})",
            **kwargs,
        )


def _add_nested(parser: Parser, model: type[BaseModel], dest: str, prefix: str) -> None:
    """Every field of a nested model, its options named ``{prefix}-{field}``."""
    names = {name: f"{prefix}-{name.replace('_', '-')}" for name in model.model_fields}
    add_model_options(parser, model, dest=dest, names=names)


def model_values(args: argparse.Namespace, dest: str = "") -> dict[str, Any]:
    """The values the user gave, nested by :data:`NESTED` (``{"gap": {...}}``)."""
    values: dict[str, Any] = {}
    prefix = f"{dest}{NESTED}" if dest else ""
    for key, value in vars(args).items():
        if not key.startswith(prefix):
            continue
        *parents, leaf = key[len(prefix) :].split(NESTED)
        target = values
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return values


def model_from_args(
    model: type[M],
    args: argparse.Namespace,
    *,
    dest: str = "",
    fields: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> M:
    """Validate the given options (plus ``extra``) into ``model``.

    Only the fields of ``model`` (or only ``fields``) are taken from ``args``:
    the command's other options (``--model``, ``--out``) are left alone, and
    unset fields keep the model's defaults.

    Raises:
        ConfigError: a value the model rejects, naming the field and why.
    """
    wanted = set(fields if fields is not None else model.model_fields)
    given = {k: v for k, v in model_values(args, dest).items() if k in wanted}
    try:
        return model.model_validate({**given, **(extra or {})})
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or model.__name__}: "
            f"{error['msg']}"
            for error in e.errors()
        )
        raise ConfigError(f"invalid options: {problems}") from e


def default_text(info: FieldInfo) -> str:
    """A field's default as help shows it: ``on``/``off``, ``A,B``, ``unset``."""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _argument(info: FieldInfo) -> dict[str, Any]:
    """``type``/``choices``/``action``/``metavar`` for a field's annotation."""
    annotation = _without_none(info.annotation)
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(annotation) is Literal:
        return {"choices": get_args(annotation)}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"choices": [member.value for member in annotation]}
    if _is_int_pair(annotation):
        return {"type": int_pair, "metavar": "A,B"}
    if get_origin(annotation) is tuple:
        return {"type": comma_list, "metavar": _list_metavar(get_args(annotation)[0])}
    if get_origin(annotation) in (Union, types.UnionType):
        return {"type": str}  # ``int | Literal["auto"]``: the model decides
    parse: Callable[[str], Any] | None = {
        int: int,
        float: float,
        str: str,
        Path: Path,
    }.get(annotation)
    if parse is None:
        raise KeyError(f"no command-line form for a field of type {annotation!r}")
    return {"type": parse}


def comma_list(text: str) -> list[str]:
    """Parse ``A,B,...`` into its items; the settings model checks each one."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _list_metavar(item: Any) -> str:
    """``N,...`` for integers, ``X,...`` for numbers, ``NAME,...`` otherwise."""
    if get_origin(item) is Annotated:
        item = get_args(item)[0]
    return {int: "N,...", float: "X,..."}.get(item, "NAME,...")


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _is_int_pair(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, tuple):
        hints = get_type_hints(annotation)  # a NamedTuple such as LayerRange
        return len(hints) == 2 and all(h is int for h in hints.values())
    return get_origin(annotation) is tuple and get_args(annotation) == (int, int)
