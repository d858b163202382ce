"""Files in and out: validated record files, YAML mappings, atomic writes.

Every reader names the file, and the line of a record file, in its errors;
every writer goes through a temporary file and an atomic rename, so a reader
never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import ConfigError

Record = TypeVar("Record", bound=BaseModel)

#: Suffixes read as JSON Lines; ``.csv`` is read with a header row.
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def describe_errors(
    source: str | Path,
    error: ValidationError,
    prefix: str = "",
    model: type[BaseModel] | None = None,
) -> str:
    """One line per pydantic error, each naming the source and the field.

    With ``model`` (the model validated), an unknown field's line also lists
    the fields allowed where it stands.
    """
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        line = f"{source}: field {loc!r}: {item['msg']}"
        allowed = allowed_fields(model, item["loc"][:-1]) if model else None
        if item["type"] == "extra_forbidden" and allowed:
            line += f" (allowed: {', '.join(allowed)})"
        lines.append(line)
    return "\n".join(lines)


def allowed_fields(model: type[BaseModel], path: Sequence[Any]) -> list[str] | None:
    """The field names of the model found at ``path`` inside ``model``."""
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return list(model.model_fields)


def read_text(path: Path) -> str:
    """Read a UTF-8 file; the error names it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (with ``yaml.safe_load``)."""
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level")
    return data


def read_records(
    path: str | Path, model: type[Record], *, unique: str | None = None
) -> list[Record]:
    """Read a JSONL or CSV file, validating each record against ``model``.

    Blank lines are skipped. A CSV file needs a header row naming the fields
    (matched case-insensitively).

    Args:
        path: The file; ``.csv`` is CSV, anything else JSON Lines.
        model: The pydantic model of one record.
        unique: A field whose values must not repeat (``id``, say).

    Raises:
        ConfigError: naming ``file:line`` and the field of the first bad record.
    """
    path = Path(path)
    records = []
    first: dict[Any, int] = {}
    for number, data in _raw_records(path):
        where = f"{path}:{number}"
        try:
            record = model.model_validate(data)
        except ValidationError as e:
            raise ConfigError(describe_errors(where, e)) from e
        if unique is not None:
            key = getattr(record, unique)
            if key in first:
                raise ConfigError(
                    f"{where}: duplicate {unique} {key!r} (first on line {first[key]})"
                )
            first[key] = number
        records.append(record)
    return records


def _raw_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path, text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: invalid JSON: {e.msg}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object")
        yield number, data


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    for row in reader:
        if not any((value or "").strip() for value in row.values()):
            continue
        # line_num is the last physical line read: right for one-line records.
        # Header names match field names case-insensitively.
        fields = {k.strip().lower(): v for k, v in row.items() if k is not None}
        yield reader.line_num, fields


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename.

    The file is readable by everyone (reports and caches are for sharing).

    Raises:
        OSError: the directory or the file cannot be written.
    """
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary handle whose bytes become ``path`` when the block succeeds.

    The bytes go to a temporary sibling that is synced and renamed over
    ``path``; on any error it is deleted and ``path`` is left as it was. The
    file is readable by everyone.

    Raises:
        OSError: the directory or the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(0o644)  # mkstemp makes it private
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON (strict: no NaN) atomically to ``path``.

    Raises:
        ValueError: ``data`` holds a value JSON cannot represent; nothing is
            written.
        OSError: the directory or the file cannot be written.
    """
    text = json.dumps(
        data, indent=2, ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
    )
    return write_text_atomic(path, text + "\n")
