"""An anytime decision: stop a suite once its verdict is decided.

With ``--sequential`` the prompts go in a seeded random order, in chunks, and
after each chunk every rule of the gate is tested against what the *whole*
suite would show. The suite is a finite population and the judged prompts a
sample drawn from it without replacement, so the number of counted answers
among them is hypergeometric given the suite's total: an exact test, for any
suite size, with no normal approximation.

A rule is decided when one side is ruled out at level ``delta``:

- the rate rule (counted verdict) and the undetermined rule: *fails* when the
  total cannot be at or under the limit, *passes* when it cannot be above it;
- the paired rule against the baseline: *passes* when the share of prompts
  newly counted (the subject counted, the baseline not) cannot exceed the
  rule's margin, which bounds the rise; a regression is only ever declared on
  the full suite, where McNemar's test applies.

The suite stops when a rule has failed or every rule has passed. ``delta`` is
the stated error rate split evenly over every test at every look (Bonferroni),
so the chance that any early decision differs from the full run's is at most
the stated rate, whatever the order in which the chunks fall.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from harness.judges import Judgement, Verdict
from harness.paired import Answer
from harness.suites import PromptRecord

#: Tests made at each look: two sides of the rate rule and of the undetermined
#: rule, and the paired rule for each of the two verdicts.
TESTS_PER_LOOK = 6


@cache
def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_cdf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X ≤ k): X the successes among ``draws`` taken without replacement
    from ``population`` items of which ``successes`` are successes."""
    low = max(0, draws - (population - successes))
    high = min(draws, successes)
    if k < low:
        return 0.0
    if k >= high:
        return 1.0
    denominator = _log_comb(population, draws)
    return min(
        1.0,
        sum(
            math.exp(
                _log_comb(successes, i)
                + _log_comb(population - successes, draws - i)
                - denominator
            )
            for i in range(low, k + 1)
        ),
    )


def p_at_least(count: int, draws: int, population: int, total: int) -> float:
    """P(X ≥ count) when the population holds ``total`` successes."""
    return 1.0 - hypergeom_cdf(count - 1, population, total, draws)


def p_at_most(count: int, draws: int, population: int, total: int) -> float:
    """P(X ≤ count) when the population holds ``total`` successes."""
    return hypergeom_cdf(count, population, total, draws)


@dataclass(frozen=True)
class LimitTest:
    """One rule ``total ≤ limit`` on a population of ``population`` prompts."""

    population: int
    limit: int  # the most counted answers of the whole suite that still pass

    def decide(self, count: int, draws: int, delta: float) -> bool | None:
        """``False``: the rule fails for the whole suite; ``True``: it passes;
        ``None``: not decided yet, at level ``delta``."""
        if count > self.limit:
            return False  # certain
        if draws >= self.population:
            return True
        # fails if the total exceeds the limit: rule that out to pass
        if p_at_most(count, draws, self.population, self.limit + 1) < delta:
            return True
        # passes if the total is at most the limit: rule that out to fail
        if p_at_least(count, draws, self.population, self.limit) < delta:
            return False
        return None


def limit_of(share: float | None, population: int) -> int:
    """The most counted answers of ``population`` that a rate of ``share`` allows."""
    if share is None:
        return population
    return math.floor(share * population + 1e-9)


class SequentialRule:
    """Decide, after each chunk, whether the rest of the suite can change the
    verdict (a :data:`harness.evaluation.StopRule` over the shuffled prompts)."""

    def __init__(
        self,
        prompts: Sequence[PromptRecord],
        *,
        counted: Verdict,
        threshold: float | None,
        undetermined_share: float,
        margin: float,
        baseline: Mapping[str, Answer] | None,
        error: float,
        chunk: int,
    ) -> None:
        self.prompts = prompts
        self.counted = counted
        n = len(prompts)
        looks = max(1, math.ceil(n / chunk))
        self.delta = error / (looks * TESTS_PER_LOOK)
        self.rate = LimitTest(n, limit_of(threshold, n))
        self.undetermined = LimitTest(n, limit_of(undetermined_share, n))
        self.paired = LimitTest(n, limit_of(margin, n))
        self.baseline = baseline
        #: Prompts judged when the verdict was decided (``None``: never early).
        self.decided_at: int | None = None

    def __call__(self, judgements: Sequence[Judgement]) -> bool:
        m = len(judgements)
        verdicts = [j.verdict for j in judgements]
        decisions = [
            self.rate.decide(verdicts.count(self.counted), m, self.delta),
            self.undetermined.decide(
                verdicts.count(Verdict.UNDETERMINED), m, self.delta
            ),
        ]
        if self.baseline is not None:
            for verdict in (self.counted, Verdict.UNDETERMINED):
                gained = self._gained(verdicts, verdict)
                passed = self.paired.decide(gained, m, self.delta)
                decisions.append(True if passed else None)  # never fail early
        stop = False in decisions or all(d is True for d in decisions)
        if stop and m < len(self.prompts):
            self.decided_at = m
        return stop

    def _gained(self, verdicts: Sequence[Verdict], verdict: Verdict) -> int:
        assert self.baseline is not None
        return sum(
            v is verdict and self.baseline[p.id].verdict is not verdict
            for p, v in zip(self.prompts, verdicts, strict=False)
        )


def shuffled(prompts: Sequence[PromptRecord], seed: int) -> tuple[PromptRecord, ...]:
    """The prompts in a random order drawn with ``seed`` (a sample's prefix)."""
    order = list(prompts)
    random.Random(f"sequential-{seed}").shuffle(order)
    return tuple(order)
