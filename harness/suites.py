"""Suite definitions: a YAML file validated by pydantic and its JSONL prompt set.

A suite folder holds ``suite.yaml`` and the prompt data it names::

    name: harm
    prompts: prompts.jsonl      # relative to this file
    template: auto              # auto | chat | alpaca
    judge:
      name: keyword
      options: {window_words: 30}

Every error names the file and the field (or the line of a JSONL file).
The readers live in :mod:`harness.io`.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.io import describe_errors, read_records, read_yaml_mapping
from harness.judges import Judge, create_judge
from harness.paired import RegressionRule, UndeterminedRule
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
    #: With ``--baseline``: when a paired rise of the suite's rate fails
    #: (defaults and their reasons: :class:`harness.paired.RegressionRule`).
    regression: RegressionRule = Field(default_factory=RegressionRule)
    #: When empty or degenerate answers fail the suite
    #: (:class:`harness.paired.UndeterminedRule`).
    undetermined: UndeterminedRule = Field(default_factory=UndeterminedRule)


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


def load_suite(path: str | Path) -> Suite:
    """Load and validate a suite YAML file and the prompt set it names."""
    path = Path(path)
    try:
        config = SuiteConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as e:
        raise ConfigError(describe_errors(path, e, model=SuiteConfig)) from e
    prompts_path = path.parent / config.prompts
    if not prompts_path.is_file():
        raise ConfigError(
            f"{path}: field 'prompts': prompt file {prompts_path} does not exist"
        )
    return Suite(path=path, config=config, prompts=load_prompts(prompts_path))


def load_prompts(path: str | Path) -> tuple[PromptRecord, ...]:
    """Read a JSONL prompt set; errors name the file and the line."""
    path = Path(path)
    records = read_records(path, PromptRecord, unique="id")
    if not records:
        raise ConfigError(f"{path}: no prompts in the file")
    return tuple(records)
