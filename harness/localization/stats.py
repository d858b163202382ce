"""Paired comparison of two R_o evaluations: McNemar's exact test.

Both evaluations judge the same queries, so the right test is on the discordant
pairs: ``b`` queries refused only by the step, ``c`` refused only by the winner.
Under "no difference" each discordant query is a fair coin, and the exact
two-sided p-value is ``min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Bin(b + c, 1/2)``,
computed with integers by :func:`harness.metrics.mcnemar_exact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.metrics import mcnemar_exact

__all__ = ["PairedDifference", "mcnemar_exact", "paired_difference"]


@dataclass(frozen=True)
class PairedDifference:
    """How one sweep step differs from the winner, query by query."""

    difference: int  # R_o(step) - R_o(winner)
    only_step: int  # b: refused by the step, not by the winner
    only_winner: int  # c: refused by the winner, not by the step
    p_value: float
    significant: bool


def paired_difference(
    step: Sequence[bool], winner: Sequence[bool], *, level: float = 0.05
) -> PairedDifference:
    """Compare per-query refusal flags of a sweep step with the winner's."""
    if len(step) != len(winner):
        raise ValueError("both evaluations must judge the same queries")
    only_step = sum(s and not w for s, w in zip(step, winner, strict=True))
    only_winner = sum(w and not s for s, w in zip(step, winner, strict=True))
    p = mcnemar_exact(only_step, only_winner)
    return PairedDifference(
        difference=only_step - only_winner,
        only_step=only_step,
        only_winner=only_winner,
        p_value=p,
        significant=p < level,
    )
