"""Representation drift: how far last-token hidden states moved, layer by layer.

Inputs are the ``[prompts, layers, d]`` states of
:func:`harness.localization.activations.last_token_states` for the same
prompts (the same template) on the subject and on the baseline. Per layer:

* the mean cosine between the two models' states of the same prompt, apart for
  the malicious (M) and the normal (N) queries (1.0: nothing moved);
* the N-M angle gap of each model (paper §3.3) with its label-permutation
  noise floor, reusing :mod:`harness.localization.similarity` and
  :mod:`harness.localization.gap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from harness.errors import IncompatibleModelsError
from harness.localization.gap import GapRule, permutation_null, rise_of
from harness.localization.similarity import exact_curves, unit_rows

if TYPE_CHECKING:
    import torch


class RepresentationDrift(BaseModel):
    """Per-layer mean cosine between subject and baseline states of each prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    malicious_cos: list[float]
    normal_cos: list[float]
    malicious_prompts: int
    normal_prompts: int

    @property
    def malicious_drift(self) -> list[float]:
        """``1 - cosine`` per layer on the malicious queries (0.0: unmoved)."""
        return [1.0 - c for c in self.malicious_cos]

    @property
    def normal_drift(self) -> list[float]:
        """``1 - cosine`` per layer on the normal queries."""
        return [1.0 - c for c in self.normal_cos]


def paired_cosine(subject: torch.Tensor, baseline: torch.Tensor) -> list[float]:
    """Per-layer mean cosine of ``[prompts, layers, d]`` states, prompt by prompt.

    Raises:
        IncompatibleModelsError: the two tensors differ in shape.
    """
    if tuple(subject.shape) != tuple(baseline.shape):
        raise IncompatibleModelsError(
            f"hidden states of shape {tuple(subject.shape)} (subject) and "
            f"{tuple(baseline.shape)} (baseline) cannot be paired: the models "
            "need the same layer count and width, and the same prompts"
        )
    cos = (unit_rows(subject) * unit_rows(baseline)).sum(dim=-1)  # [layers, prompts]
    return [float(c) for c in cos.mean(dim=1).tolist()]


def representation_drift(
    subject_normal: torch.Tensor,
    subject_malicious: torch.Tensor,
    baseline_normal: torch.Tensor,
    baseline_malicious: torch.Tensor,
) -> RepresentationDrift:
    """Mean subject-vs-baseline cosine per layer, for each query set."""
    return RepresentationDrift(
        malicious_cos=paired_cosine(subject_malicious, baseline_malicious),
        normal_cos=paired_cosine(subject_normal, baseline_normal),
        malicious_prompts=int(subject_malicious.shape[0]),
        normal_prompts=int(subject_normal.shape[0]),
    )


class GapCurve(BaseModel):
    """One model's N-M angle gap per layer and its permutation noise floor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gap_deg: list[float]
    noise_floor_deg: list[float]


def gap_curve(
    normal: torch.Tensor, malicious: torch.Tensor, rule: GapRule, *, seed: int = 0
) -> GapCurve:
    """The exact gap curve and its per-layer ``rule.noise_quantile`` floor."""
    curves = exact_curves(normal, malicious)
    null = permutation_null(normal, malicious, rule, seed=seed)
    return GapCurve(gap_deg=curves.gap_deg, noise_floor_deg=null.layer_floor_deg)


class GapComparison(BaseModel):
    """The subject's gap curve against the baseline's.

    ``shrunk_layers`` are the layers where the subject's gap fell below the
    baseline's by more than the baseline's noise floor there (the 95th
    percentile of label-permuted gaps): a loss larger than what relabelling
    noise produces. A heuristic, not a test.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: GapCurve
    baseline: GapCurve
    delta_deg: list[float]
    subject_rise_deg: float
    baseline_rise_deg: float
    shrunk_layers: list[int]


def compare_gap_curves(
    subject: GapCurve, baseline: GapCurve, *, exclude_final_layer: bool = True
) -> GapComparison:
    """Compare two gap curves layer by layer (the final layer optionally left out).

    The final layer's vector is read after the final norm (docs/localization.md,
    note 1), so by default it takes no part in the rises or the shrunk layers.
    """
    if len(subject.gap_deg) != len(baseline.gap_deg):
        raise IncompatibleModelsError(
            f"gap curves over {len(subject.gap_deg)} and {len(baseline.gap_deg)} "
            "layers cannot be compared"
        )
    delta = [s - b for s, b in zip(subject.gap_deg, baseline.gap_deg, strict=True)]
    analysed = len(delta) - 1 if exclude_final_layer and len(delta) > 2 else len(delta)
    shrunk = [k for k in range(analysed) if -delta[k] > baseline.noise_floor_deg[k]]
    return GapComparison(
        subject=subject,
        baseline=baseline,
        delta_deg=delta,
        subject_rise_deg=_rise(subject.gap_deg[:analysed]),
        baseline_rise_deg=_rise(baseline.gap_deg[:analysed]),
        shrunk_layers=shrunk,
    )


def _rise(gap: Sequence[float]) -> float:
    return rise_of(gap).rise_deg if gap else 0.0
