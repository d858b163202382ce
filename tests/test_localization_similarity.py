"""Pair statistics against brute-force loops on random tensors."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
import torch

from harness.localization.gap import (
    GapRule,
    labelled_gaps,
    permutation_null,
)
from harness.localization.similarity import (
    PAPER_SEEDS,
    angles_deg,
    cosine_matrix,
    exact_curves,
    sampled_curves,
    sampled_pairs,
)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a64, b64 = a.double(), b.double()
    return float(a64 @ b64 / (a64.norm() * b64.norm()))


def brute(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float, float]:
    cosines = [cosine(a, b) for a, b in pairs]
    angles = [math.degrees(math.acos(max(-1.0, min(1.0, c)))) for c in cosines]
    return (
        statistics.fmean(cosines),
        statistics.pstdev(cosines),
        statistics.fmean(angles),
    )


@pytest.fixture
def states() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    normal = torch.randn(7, 4, 16, generator=generator)
    malicious = torch.randn(6, 4, 16, generator=generator) + 0.5
    return normal, malicious


def test_exact_curves_match_loops_over_all_pairs(
    states: tuple[torch.Tensor, torch.Tensor],
) -> None:
    normal, malicious = states
    curves = exact_curves(normal, malicious)
    for layer in range(4):
        kinds = {
            "nn": [(normal[a, layer], normal[b, layer])
                   for a, b in itertools.combinations(range(7), 2)],
            "mm": [(malicious[a, layer], malicious[b, layer])
                   for a, b in itertools.combinations(range(6), 2)],
            "nm": [(normal[a, layer], malicious[b, layer])
                   for a in range(7) for b in range(6)],
        }  # fmt: skip
        for kind, pairs in kinds.items():
            stats = getattr(curves, kind)
            mean, std, angle = brute(pairs)
            assert stats.pairs == len(pairs)
            assert stats.cos_mean[layer] == pytest.approx(mean, abs=1e-12)
            assert stats.cos_std[layer] == pytest.approx(std, abs=1e-12)
            assert stats.angle_mean_deg[layer] == pytest.approx(angle, abs=1e-9)
        expected_gap = brute(kinds["nm"])[2] - brute(kinds["nn"])[2]
        assert curves.gap_deg[layer] == pytest.approx(expected_gap, abs=1e-9)


def test_sampled_curves_match_loops_over_the_drawn_pairs(
    states: tuple[torch.Tensor, torch.Tensor],
) -> None:
    normal, malicious = states
    curves = sampled_curves(normal, malicious, pairs=50)
    nn_pairs = sampled_pairs("nn", 7, 7, 50, PAPER_SEEDS["nn"])
    nm_pairs = sampled_pairs("nm", 7, 6, 50, PAPER_SEEDS["nm"])
    assert all(a != b for a, b in nn_pairs)
    assert all(0 <= b < 6 for _, b in nm_pairs)
    for layer in range(4):
        nn = brute([(normal[a, layer], normal[b, layer]) for a, b in nn_pairs])
        nm = brute([(normal[a, layer], malicious[b, layer]) for a, b in nm_pairs])
        assert curves.nn.cos_mean[layer] == pytest.approx(nn[0], abs=1e-12)
        assert curves.nm.cos_std[layer] == pytest.approx(nm[1], abs=1e-12)
        assert curves.gap_deg[layer] == pytest.approx(nm[2] - nn[2], abs=1e-9)
    # The authors' seeding: one seed per draw, starting at 10 / 100 / 1000.
    assert sampled_pairs("nn", 7, 7, 3, 10) == sampled_pairs("nn", 7, 7, 3, 10)
    assert sampled_pairs("nn", 7, 7, 2, 11)[0] == nn_pairs[1]


def test_permutation_null_recomputes_gaps_of_relabelled_sets(
    states: tuple[torch.Tensor, torch.Tensor],
) -> None:
    normal, malicious = states
    rule = GapRule(permutations=40, exclude_final_layer=False)
    null = permutation_null(normal, malicious, rule, seed=5, chunk=16)
    assert len(null.rises_deg) == 40
    # Reproduce the first relabelling by brute force.
    generator = torch.Generator().manual_seed(5)
    order = torch.argsort(torch.rand(16, 13, generator=generator), dim=1)[0]
    pooled = torch.cat([normal, malicious])
    relabelled = exact_curves(pooled[order[:7]], pooled[order[7:]])
    peak = max(range(4), key=lambda k: relabelled.gap_deg[k])
    expected = relabelled.gap_deg[peak] - min(relabelled.gap_deg[: peak + 1])
    assert null.rises_deg[0] == pytest.approx(expected, abs=1e-9)
    assert len(null.layer_floor_deg) == 4


def test_identity_labels_reproduce_the_observed_gap(
    states: tuple[torch.Tensor, torch.Tensor],
) -> None:
    normal, malicious = states
    pooled = torch.cat([normal, malicious])
    angles = angles_deg(cosine_matrix(pooled, pooled))
    angles.diagonal(dim1=1, dim2=2).zero_()
    labels = torch.zeros(1, pooled.shape[0], dtype=angles.dtype)
    labels[0, : normal.shape[0]] = 1.0
    gap = labelled_gaps(angles, labels)[0]
    observed = exact_curves(normal, malicious).gap_deg
    assert gap.tolist() == pytest.approx(observed, abs=1e-9)
