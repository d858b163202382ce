"""Layer-wise cosine similarity of N-N, M-M and N-M pairs, and the angle gap.

Paper §3.2-§3.3: per layer, the mean and std of the cosine similarity over
pairs of normal (N) and malicious (M) queries, and the angle gap
``mean(arccos N-M) - mean(arccos N-N)`` in degrees (the mean of the angles, not
the arccos of the mean cosine; docs/localization.md, note 3).

Two modes:

* ``exact`` (default): every distinct pair, from one Gram matrix per layer.
* ``sampled``: ``r`` random pairs per type with the authors' seeds (N-N 10, M-M
  100, N-M 1000; the seed grows by one per draw), for reproduction
  (docs/localization.md, note 2).

Standard deviations are population standard deviations (ddof=0, numpy's
default, as the authors' plots). All arithmetic is float64.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

PairMode = Literal["exact", "sampled"]
#: First seeds of the authors' script, per pair type (docs/localization.md, note 2).
PAPER_SEEDS = {"nn": 10, "mm": 100, "nm": 1000}


@dataclass(frozen=True)
class PairStats:
    """Per-layer statistics of one pair type (lists indexed by layer)."""

    cos_mean: list[float]
    cos_std: list[float]
    angle_mean_deg: list[float]
    pairs: int


@dataclass(frozen=True)
class SimilarityCurves:
    """Everything the existence analysis computes from the hidden states."""

    nn: PairStats
    mm: PairStats
    nm: PairStats
    mode: PairMode

    @property
    def gap_deg(self) -> list[float]:
        """Angle gap per layer: mean angle N-M minus mean angle N-N (degrees)."""
        return [
            nm - nn
            for nm, nn in zip(
                self.nm.angle_mean_deg, self.nn.angle_mean_deg, strict=True
            )
        ]


def unit_rows(states: torch.Tensor) -> torch.Tensor:
    """Return ``[layers, prompts, d]`` float64 unit vectors from ``[prompts, L, d]``."""
    import torch

    x = states.to(torch.float64).transpose(0, 1)
    return torch.nn.functional.normalize(x, dim=-1)


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-layer cosine matrix ``[layers, len(a), len(b)]`` of hidden states."""
    return unit_rows(a) @ unit_rows(b).transpose(1, 2)


def angles_deg(cos: torch.Tensor) -> torch.Tensor:
    """Angles in degrees of cosines (clamped into [-1, 1] first)."""
    import torch

    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def _stats(cos: torch.Tensor) -> PairStats:
    """Statistics over the pair axis (dim 1) of ``[layers, pairs]`` cosines."""
    return PairStats(
        cos_mean=cos.mean(dim=1).tolist(),
        cos_std=cos.std(dim=1, correction=0).tolist(),
        angle_mean_deg=angles_deg(cos).mean(dim=1).tolist(),
        pairs=int(cos.shape[1]),
    )


def _distinct_pairs(cos: torch.Tensor) -> torch.Tensor:
    """Upper-triangle entries (each distinct unordered pair once) per layer."""
    import torch

    n = cos.shape[-1]
    rows, cols = torch.triu_indices(n, n, offset=1)
    return cos[:, rows, cols]


def exact_curves(normal: torch.Tensor, malicious: torch.Tensor) -> SimilarityCurves:
    """All-pairs statistics from ``[prompts, layers, d]`` hidden states."""
    if normal.shape[0] < 2 or malicious.shape[0] < 2:
        raise ValueError("need at least two normal and two malicious prompts")
    nm = cosine_matrix(normal, malicious)
    return SimilarityCurves(
        nn=_stats(_distinct_pairs(cosine_matrix(normal, normal))),
        mm=_stats(_distinct_pairs(cosine_matrix(malicious, malicious))),
        nm=_stats(nm.flatten(start_dim=1)),
        mode="exact",
    )


def sampled_pairs(
    kind: str, n: int, m: int, count: int, seed: int
) -> list[tuple[int, int]]:
    """Draw ``count`` index pairs the way the authors' script does.

    ``random.seed(s)`` before each draw, ``s`` growing by one: ``nn``/``mm`` draw
    two distinct members (``random.sample``); ``nm`` draws one normal and one
    malicious member independently. Bitwise equality with the authors' pairs
    is not claimed: their exact calls are known only second hand
    (docs/localization.md, note 2).
    """
    pairs = []
    for draw in range(count):
        rng = random.Random(seed + draw)
        if kind == "nm":
            pairs.append((rng.randrange(n), rng.randrange(m)))
        else:
            a, b = rng.sample(range(n), 2)
            pairs.append((a, b))
    return pairs


def sampled_curves(
    normal: torch.Tensor,
    malicious: torch.Tensor,
    *,
    pairs: int = 500,
    seeds: dict[str, int] | None = None,
) -> SimilarityCurves:
    """Paper-faithful statistics over ``pairs`` random pairs per type (§3.2)."""
    seeds = {**PAPER_SEEDS, **(seeds or {})}
    n, m = normal.shape[0], malicious.shape[0]
    stats = {}
    for kind, a, b, size_b in (
        ("nn", normal, normal, n),
        ("mm", malicious, malicious, m),
        ("nm", normal, malicious, m),
    ):
        size_a = n if kind != "mm" else m
        drawn = sampled_pairs(kind, size_a, size_b, pairs, seeds[kind])
        stats[kind] = _stats(_pair_cosines(a, b, drawn))
    return SimilarityCurves(stats["nn"], stats["mm"], stats["nm"], mode="sampled")


def _pair_cosines(
    a: torch.Tensor, b: torch.Tensor, pairs: list[tuple[int, int]]
) -> torch.Tensor:
    import torch

    left = unit_rows(a)[:, torch.tensor([p[0] for p in pairs])]
    right = unit_rows(b)[:, torch.tensor([p[1] for p in pairs])]
    return (left * right).sum(dim=-1)
