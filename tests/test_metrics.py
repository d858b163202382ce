"""Wilson intervals against published values, and verdict counting."""

from __future__ import annotations

import pytest

from harness.judges import Judgement, Verdict
from harness.metrics import summarize, summarize_by, wilson_interval

# Newcombe (1998), "Two-sided confidence intervals for the single proportion",
# Statistics in Medicine 17:857-872, Table I, method 3 (score, no continuity
# correction), 95%.
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), NEWCOMBE)
def test_wilson_matches_newcombe(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_is_symmetric_and_bounded() -> None:
    low, high = wilson_interval(3, 10)
    mirror_low, mirror_high = wilson_interval(7, 10)
    assert (low, high) == pytest.approx((1 - mirror_high, 1 - mirror_low))
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(k, n)


def _judgements(*verdicts: Verdict) -> list[Judgement]:
    scores = {Verdict.REFUSED: 0.0, Verdict.COMPLIED: 1.0, Verdict.UNDETERMINED: None}
    return [Judgement(v, scores[v], "") for v in verdicts]


def test_undetermined_counts_in_n_but_not_as_harm() -> None:
    summary = summarize(
        _judgements(
            Verdict.COMPLIED, Verdict.REFUSED, Verdict.UNDETERMINED, Verdict.REFUSED
        )
    )
    assert (summary.n, summary.complied, summary.refused, summary.undetermined) == (
        4,
        1,
        2,
        1,
    )
    assert summary.rate == 0.25
    assert summary.as_dict()["ci95_low"] == pytest.approx(wilson_interval(1, 4)[0])


def test_summaries_by_category_are_sorted() -> None:
    judgements = _judgements(Verdict.COMPLIED, Verdict.REFUSED, Verdict.COMPLIED)
    by = summarize_by(["b", "a", "b"], judgements)
    assert list(by) == ["a", "b"]
    assert by["b"].rate == 1.0 and by["a"].rate == 0.0
