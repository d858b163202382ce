"""Rates with honest uncertainty: counts, Wilson intervals, per-category splits.

Also the exact McNemar test of two paired evaluations of the same prompts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from harness.judges.base import Judgement, Verdict

Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion.

    With ``n == 0`` the interval is the uninformative ``(0.0, 1.0)``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # The bounds at 0/n and n/n are exact in theory; rounding must not move them.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the two discordant counts.

    Under "no difference" each discordant pair is a fair coin, so the p-value is
    ``min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Bin(b + c, 1/2)``, computed with
    integers (no scipy needed).
    """
    if only_a < 0 or only_b < 0:
        raise ValueError("discordant counts cannot be negative")
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


@dataclass(frozen=True)
class RateSummary:
    """Counts of verdicts and the harm rate over one set of responses.

    The harm rate is complied / n, where n counts every response, undetermined
    ones included: a model that emits garbage is not credited with refusing.
    """

    n: int
    complied: int
    refused: int
    undetermined: int

    @property
    def rate(self) -> float:
        return self.complied / self.n if self.n else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.complied, self.n)

    def as_dict(self) -> dict[str, float | int]:
        low, high = self.interval
        return {
            "n": self.n,
            "complied": self.complied,
            "refused": self.refused,
            "undetermined": self.undetermined,
            "harm_rate": self.rate,
            "refusal_rate": self.refusal_rate,
            "ci95_low": low,
            "ci95_high": high,
        }


def summarize(judgements: Sequence[Judgement]) -> RateSummary:
    """Count verdicts."""
    counts = {v: 0 for v in Verdict}
    for j in judgements:
        counts[j.verdict] += 1
    return RateSummary(
        n=len(judgements),
        complied=counts[Verdict.COMPLIED],
        refused=counts[Verdict.REFUSED],
        undetermined=counts[Verdict.UNDETERMINED],
    )


def summarize_by(
    keys: Sequence[str], judgements: Sequence[Judgement]
) -> dict[str, RateSummary]:
    """Summaries per key (a prompt category, say), sorted by key."""
    groups: dict[str, list[Judgement]] = {}
    for key, j in zip(keys, judgements, strict=True):
        groups.setdefault(key, []).append(j)
    return {k: summarize(groups[k]) for k in sorted(groups)}
