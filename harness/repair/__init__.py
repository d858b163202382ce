"""Repair a checkpoint that fails the gate (issue 15): a ladder of rungs.

Cheapest first, each producing a candidate checkpoint that the caller's judge
(the gate's suites) and a utility check decide on:

a. band revert (:mod:`~harness.repair.rungs`): the baseline's attention/MLP
   back in a band, λ-mixed; b. whole-model interpolation; c. sparse,
   gradient-guided restore (:mod:`~harness.repair.sparse`); d. SPPFT, paper §4
   (:mod:`~harness.repair.sppft`).

Importing this package is cheap; torch loads when a repair runs.
"""

from __future__ import annotations

from harness.repair.ladder import RepairSettings, repair
from harness.repair.records import (
    Candidate,
    CandidateJudge,
    CandidateVerdict,
    RepairResult,
    RungRecord,
    Utility,
)
from harness.repair.sppft import SPPFTSettings, train_sppft

__all__ = [
    "Candidate",
    "CandidateJudge",
    "CandidateVerdict",
    "RepairResult",
    "RepairSettings",
    "RungRecord",
    "SPPFTSettings",
    "Utility",
    "repair",
    "train_sppft",
]
