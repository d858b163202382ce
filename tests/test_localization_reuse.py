"""A checkpoint is run once per process: its localization's states serve the drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.checkpoint import LoadOptions
from harness.drift import states as drift_states
from harness.drift.states import query_states
from harness.layers import LayerRange
from harness.localization import reuse
from harness.localization.api import (
    load_query_sets,
    locate_safety_layers,
    settings_for_key,
)
from harness.localization.data import QuerySet, spread_subset
from harness.localization.gap import GapRule
from harness.localization.profile import SafetyLayerProfile, SearchRecord
from harness.localization.settings import (
    SUITE_OVER_REJECTION_LIMIT,
    LocalizationSettings,
)
from harness.testing import TinySpec, build_tiny_checkpoint


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return build_tiny_checkpoint(tmp_path / "tiny", TinySpec(layers=3))


def test_drift_reuses_the_localization_states(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reuse.forget_states()
    options = LoadOptions(device="cpu", dtype="float32")
    settings = LocalizationSettings(batch_size=64, gap=GapRule(permutations=10))
    locate_safety_layers(
        str(tiny_dir), settings=settings, load_options=options, cache_dir=tmp_path
    )

    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the checkpoint was loaded again")

    monkeypatch.setattr(drift_states, "load_checkpoint", no_load)
    shared = query_states(tiny_dir, options, batch_size=16)
    monkeypatch.undo()
    reuse.forget_states()
    fresh = query_states(tiny_dir, options, batch_size=16)
    assert shared.normal.shape == fresh.normal.shape == (120, 3, 32)
    torch.testing.assert_close(shared.normal, fresh.normal, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(shared.malicious, fresh.malicious, atol=1e-4, rtol=1e-4)


def test_other_dtype_is_not_reused(tiny_dir: Path) -> None:
    key = drift_states.states_key(tiny_dir, LoadOptions("cpu", "float32"), "auto")
    other = drift_states.states_key(tiny_dir, LoadOptions("cpu", "bfloat16"), "auto")
    assert key != other and key.fingerprint == other.fingerprint


def test_remembered_states_are_bounded() -> None:
    reuse.forget_states()
    keys = [
        reuse.StatesKey(str(n), "float32", "cpu", "auto", "n", "m")
        for n in range(reuse.KEPT_STATES + 1)
    ]
    for key in keys:
        reuse.remember_states(key, torch.zeros(1), torch.zeros(1))
    assert reuse.recall_states(keys[0]) is None
    assert reuse.recall_states(keys[-1]) is not None
    reuse.forget_states()


def test_over_rejection_subset_is_spread_and_stable() -> None:
    queries = QuerySet("over_rejection", "builtin", tuple(f"q{i}" for i in range(10)))
    picked = spread_subset(queries, 4)
    assert picked.prompts == ("q0", "q2", "q5", "q7")
    assert spread_subset(queries, 4) == picked
    assert spread_subset(queries, None) is queries


def test_shipped_set_is_larger_than_the_suite_limit() -> None:
    shipped = load_query_sets()["over_rejection"]
    suite = LocalizationSettings.for_suite(batch_size=16)
    assert suite.over_rejection_limit == SUITE_OVER_REJECTION_LIMIT
    assert suite.batch_size == 16
    limited = spread_subset(shipped, suite.over_rejection_limit)
    assert len(limited.prompts) == SUITE_OVER_REJECTION_LIMIT


def test_unset_new_settings_keep_the_cache_key() -> None:
    # Profiles cached before these settings existed stay valid at their defaults.
    keyed = settings_for_key(LocalizationSettings())
    assert "over_rejection_limit" not in keyed and "search_enabled" not in keyed
    limited = LocalizationSettings(over_rejection_limit=50)
    assert settings_for_key(limited)["over_rejection_limit"] == 50


def _baseline(located: bool) -> SafetyLayerProfile:
    search = SearchRecord.model_construct(alpha=1.1, direction="up")
    return SafetyLayerProfile.model_construct(
        safety_layers=LayerRange(8, 12) if located else None,
        search=search if located else None,
    )


def test_a_subject_searches_as_its_baseline_did() -> None:
    subject = LocalizationSettings.for_suite(16, baseline=_baseline(located=True))
    assert subject.search.alpha == 1.1 and subject.search.direction == "up"
    assert subject.search_enabled
    unlocated = LocalizationSettings.for_suite(16, baseline=_baseline(located=False))
    assert not unlocated.search_enabled


def test_without_search_a_band_is_not_located(tiny_dir: Path, tmp_path: Path) -> None:
    settings = LocalizationSettings(
        initial_range=LayerRange(0, 1),
        search_enabled=False,
        gap=GapRule(permutations=10),
    )
    profile = locate_safety_layers(
        str(tiny_dir),
        settings=settings,
        load_options=LoadOptions(device="cpu", dtype="float32"),
        cache_dir=tmp_path,
    )
    assert profile.status == "inconclusive" and profile.search is None
    assert "not run" in profile.summary
