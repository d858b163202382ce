"""Drift of a checkpoint from its baseline: weights, representations, the gap.

Importing this package is cheap (torch loads inside the functions):

* :mod:`harness.drift.weights`: relative Frobenius norm per layer and group;
* :mod:`harness.drift.representation`: per-layer cosine of hidden states and
  the N-M gap curves of both models;
* :mod:`harness.drift.verdict`: thresholds, the band flag, the verdict.
"""

from __future__ import annotations

from harness.drift.representation import (
    GapComparison,
    GapCurve,
    RepresentationDrift,
    compare_gap_curves,
    gap_curve,
    paired_cosine,
    representation_drift,
)
from harness.drift.verdict import (
    DriftAssessment,
    DriftFinding,
    DriftThresholds,
    assess_drift,
    concentrates_in_band,
    explain_drift,
)
from harness.drift.weights import (
    ModelShape,
    SafetensorsWeights,
    WeightDrift,
    check_compatible,
    model_shape,
    weight_drift,
    weight_drift_between,
)

__all__ = [
    "DriftAssessment",
    "DriftFinding",
    "DriftThresholds",
    "GapComparison",
    "GapCurve",
    "ModelShape",
    "RepresentationDrift",
    "SafetensorsWeights",
    "WeightDrift",
    "assess_drift",
    "check_compatible",
    "compare_gap_curves",
    "concentrates_in_band",
    "explain_drift",
    "gap_curve",
    "model_shape",
    "paired_cosine",
    "representation_drift",
    "weight_drift",
    "weight_drift_between",
]
