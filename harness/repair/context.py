"""What the rungs share (:class:`Context`) and what they hand the ladder.

A rung is a generator of *tiers*; a tier is a list of :class:`Proposal` s
that the ladder builds, checks for utility and judges together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.layers import LayerRange
from harness.repair.data import RepairData
from harness.repair.records import Candidate, CandidateJudge, Utility
from harness.repair.settings import RepairSettings
from harness.repair.weights import ModelPair, State, load_state


@dataclass
class Built:
    """A written candidate: the model in memory (for the utility check) and notes."""

    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Proposal:
    """One candidate to build: its parameters and how to write it to a directory."""

    params: dict[str, Any]
    build: Callable[[Path], Built]


Tier = list[Proposal]


@dataclass
class Context:
    """What the rungs share: the models, the band, the data and the checks."""

    pair: ModelPair
    settings: RepairSettings
    band: LayerRange
    drift: list[float]
    data: RepairData | None
    #: Candidates and Trainer checkpoints; kept until the repair ends, so a
    #: run killed mid-rung resumes from what it had finished.
    scratch: Path
    baseline_ref: str
    baseline_fingerprint: str
    #: The trained rungs (patch, SPPFT) train LoRA adapters of this rank
    #: instead of every weight (0: full fine-tuning).
    lora_rank: int
    judge: CandidateJudge
    utility: Callable[[Any], Utility]
    margin: float
    band_source: str = ""
    #: The failing checkpoint failed a harm-counting suite (it is the safety
    #: vector's scale 0).
    failing_unsafe: bool = False
    #: The baseline's unaligned base (``--base``), for the safety vector.
    base_ref: str | None = None
    #: Each rung's candidates so far, judged ones included (the ladder fills
    #: it), so a rung can choose its next tier from the verdicts.
    tried: dict[str, list[Candidate]] = field(default_factory=dict)
    _base_state: State | None = None

    def base_state(self) -> State:
        """The unaligned base's tensors, loaded on first use."""
        if self.base_ref is None:
            raise ValueError("no unaligned base was given")
        if self._base_state is None:
            self._base_state = load_state(self.base_ref, self.pair.baseline)
        return self._base_state

    def candidate_dir(self, name: str) -> Path:
        return self.scratch / "candidates" / name

    def training_checkpoints(self, key: str) -> Path:
        """Trainer checkpoints of a trained rung: a rerun resumes them."""
        return self.scratch / f"train-{key}"


Rung = Callable[[Context], Iterator[Tier]]
