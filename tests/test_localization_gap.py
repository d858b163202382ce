"""The initial-range rule (paper §3.4.3 step 1) on synthetic gap curves."""

from __future__ import annotations

import math
import random

from harness.localization.gap import GapRule, find_band, quantile, rise_of

RULE = GapRule()
QUIET_NULL = [0.3, 0.5, 0.4, 0.6, 0.2] * 20  # permuted rises of about half a degree


def sigmoid_curve(
    onset: float, width: float, height: float, layers: int = 32
) -> list[float]:
    return [height / (1 + math.exp(-(k - onset) / width)) for k in range(layers)]


def test_paper_shaped_curve_gives_onset_to_first_levelling() -> None:
    # ~0 up to layer 8, rising steeply over 9-12, flat from 13 on.
    gap = sigmoid_curve(onset=10, width=0.8, height=20.0)
    band = find_band(gap, QUIET_NULL, RULE)
    assert band.found
    assert (band.first, band.last) == (9, 12)
    assert band.rise.rise_deg > 19
    assert band.p_value is not None and band.p_value < 0.05


def test_flat_curve_is_no_clear_band() -> None:
    band = find_band([2.0] * 30, QUIET_NULL, RULE)
    assert not band.found
    assert band.first is None and band.last is None
    assert "no clear safety band" in band.reason


def test_noisy_two_degree_plateau_is_no_clear_band() -> None:
    # What our quick SmolLM2 probe saw: about 2 degrees at every layer.
    rng = random.Random(0)
    gap = [2.0 + rng.uniform(-0.4, 0.4) for _ in range(30)]
    band = find_band(gap, QUIET_NULL, RULE)
    assert not band.found
    assert band.rise.rise_deg < RULE.min_rise_deg


def test_a_rise_inside_the_noise_floor_is_rejected() -> None:
    gap = sigmoid_curve(onset=10, width=0.8, height=3.0)
    noisy_null = [2.5, 3.5, 4.0, 2.8] * 25
    band = find_band(gap, noisy_null, RULE)
    assert not band.found
    assert band.noise_floor_deg > band.rise.rise_deg
    assert find_band(gap, QUIET_NULL, RULE).found


def test_two_rises_stop_at_the_first_levelling() -> None:
    first = sigmoid_curve(onset=8, width=0.6, height=15.0)
    second = sigmoid_curve(onset=22, width=0.6, height=10.0)
    gap = [a + b for a, b in zip(first, second, strict=True)]
    band = find_band(gap, QUIET_NULL, RULE)
    assert band.found
    assert band.first is not None and band.last is not None
    assert 6 <= band.first <= 8
    assert 8 <= band.last <= 11
    assert band.rise.peak_layer > 20


def test_steady_ramp_runs_to_its_peak() -> None:
    gap = [0.0] * 5 + [float(k) for k in range(1, 11)] + [10.0] * 15
    band = find_band(gap, QUIET_NULL, RULE)
    assert (band.first, band.last) == (5, 14)


def test_final_post_norm_layer_is_not_analysed_by_default() -> None:
    gap = [0.0] * 29 + [30.0]  # a jump only in the post-final-norm vector
    assert not find_band(gap, QUIET_NULL, RULE).found
    kept = find_band(gap, QUIET_NULL, GapRule(exclude_final_layer=False))
    assert kept.found and (kept.first, kept.last) == (29, 29)


def test_decreasing_curve_has_no_rise() -> None:
    rise = rise_of([5.0, 4.0, 3.0, 1.0])
    assert (rise.base_layer, rise.peak_layer, rise.rise_deg) == (0, 0, 0.0)


def test_quantile_matches_numpy_linear() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([5.0], 0.95) == 5.0
    assert quantile(list(map(float, range(101))), 0.95) == 95.0
