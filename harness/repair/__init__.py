"""Repair a checkpoint that fails the gate: a ladder of rungs.

Cheapest first (:mod:`~harness.repair.rungs`), each producing candidate
checkpoints that the caller's judge (the gate's suites) and a utility check
decide on: band revert, whole-model interpolation, safety-vector addition and
subspace projection (:mod:`~harness.repair.vectors`, with the baseline's
unaligned base), the refusal-direction edit (:mod:`~harness.repair.direction`),
sparse restore (:mod:`~harness.repair.sparse`), the patch fine-tune
(:mod:`~harness.repair.patch`) and SPPFT, paper §4
(:mod:`~harness.repair.sppft`).

Importing this package is cheap; torch loads when a repair runs.
"""

from __future__ import annotations

from harness.repair.ladder import repair
from harness.repair.records import (
    Candidate,
    CandidateJudge,
    CandidateVerdict,
    RepairResult,
    RungRecord,
    Utility,
)
from harness.repair.settings import PatchSettings, RepairSettings, SPPFTSettings
from harness.repair.sppft import train_sppft
from harness.repair.unaligned import zoo_unaligned_base

__all__ = [
    "Candidate",
    "CandidateJudge",
    "CandidateVerdict",
    "PatchSettings",
    "RepairResult",
    "RepairSettings",
    "RungRecord",
    "SPPFTSettings",
    "Utility",
    "repair",
    "train_sppft",
    "zoo_unaligned_base",
]
