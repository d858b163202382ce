"""Suite definitions: a YAML file validated by pydantic and its JSONL prompt set.

A suite folder holds ``suite.yaml`` and the prompt data it names::

    name: harm
    prompts: prompts.jsonl      # relative to this file
    template: auto              # auto | chat | alpaca
    judge:
      name: keyword
      options: {window_words: 30}

Every error names the file and the field (or the line of a JSONL file).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.judges import Judge, create_judge
from harness.prompts import TemplateKind


class JudgeSpec(BaseModel):
    """Which judge decides refusals, and its options (e.g. phrase lists)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "keyword"
    options: dict[str, Any] = Field(default_factory=dict)


class SuiteConfig(BaseModel):
    """The contents of a ``suite.yaml`` file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    #: JSONL prompt file, relative to the YAML file.
    prompts: str = Field(min_length=1)
    #: Overrides how instructions become prompts (see harness.prompts).
    template: TemplateKind = TemplateKind.AUTO
    #: ``None`` uses the judge the run provides (the ``judge`` fixture).
    judge: JudgeSpec | None = None
    #: How many worst examples a failure message shows.
    worst_examples: int = Field(default=3, ge=0)


class PromptRecord(BaseModel):
    """One line of a prompt set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its validated config and its prompts."""

    path: Path
    config: SuiteConfig
    prompts: tuple[PromptRecord, ...]

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def prompts_path(self) -> Path:
        return self.path.parent / self.config.prompts

    def build_judge(self) -> Judge | None:
        """Create the judge this suite asks for, or ``None`` to use the run's."""
        spec = self.config.judge
        if spec is None:
            return None
        try:
            return create_judge(spec.name, spec.options)
        except ValidationError as e:
            raise ConfigError(describe_errors(self.path, e, "judge.options")) from e
        except ConfigError as e:
            raise ConfigError(f"{self.path}: field 'judge.name': {e}") from e

    def subsample(self, limit: int | None, seed: int = 0) -> Suite:
        """This suite with at most ``limit`` prompts, spread evenly over categories.

        Categories are taken in turn (each shuffled with ``seed``) so a small
        sample still covers every category; ``None`` or a limit at least the
        suite's size returns the suite unchanged. Prompt order is kept.
        """
        if limit is None or limit >= len(self.prompts):
            return self
        rng = random.Random(seed)
        queues: dict[str, list[int]] = {}
        for index, record in enumerate(self.prompts):
            queues.setdefault(record.category, []).append(index)
        for queue in queues.values():
            rng.shuffle(queue)
        picked: list[int] = []
        while len(picked) < limit:
            for queue in queues.values():
                if queue and len(picked) < limit:
                    picked.append(queue.pop())
        kept = tuple(self.prompts[i] for i in sorted(picked))
        return dataclasses.replace(self, prompts=kept)


def describe_errors(
    source: str | Path, error: ValidationError, prefix: str = ""
) -> str:
    """One line per pydantic error, each naming the source and the field."""
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        lines.append(f"{source}: field {loc!r}: {item['msg']}")
    return "\n".join(lines)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (with ``yaml.safe_load``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level")
    return data


def load_suite(path: str | Path) -> Suite:
    """Load and validate a suite YAML file and the prompt set it names."""
    path = Path(path)
    try:
        config = SuiteConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as e:
        raise ConfigError(describe_errors(path, e)) from e
    prompts_path = path.parent / config.prompts
    if not prompts_path.is_file():
        raise ConfigError(
            f"{path}: field 'prompts': prompt file {prompts_path} does not exist"
        )
    return Suite(path=path, config=config, prompts=load_prompts(prompts_path))


def load_prompts(path: str | Path) -> tuple[PromptRecord, ...]:
    """Read a JSONL prompt set; errors name the file and the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    records = tuple(_parse_lines(path, enumerate(lines, start=1)))
    if not records:
        raise ConfigError(f"{path}: no prompts in the file")
    return records


def _parse_lines(
    path: Path, numbered: Iterable[tuple[int, str]]
) -> Iterable[PromptRecord]:
    first_line: dict[str, int] = {}
    for number, line in numbered:
        if not line.strip():
            continue
        record = _parse_line(f"{path}:{number}", line)
        if record.id in first_line:
            raise ConfigError(
                f"{path}:{number}: duplicate id {record.id!r} "
                f"(first on line {first_line[record.id]})"
            )
        first_line[record.id] = number
        yield record


def _parse_line(where: str, line: str) -> PromptRecord:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}: invalid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    try:
        return PromptRecord.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(where, e)) from e
