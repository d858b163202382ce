"""The SPPFT band study: conditions, resume, and the paired statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import torch as safetensors_torch

from harness.layers import LayerRange
from harness.metrics import mcnemar_exact
from harness.repair.band_study import (
    Condition,
    compare,
    detectable_difference,
    load_runs,
    outcomes,
    random_band,
    run_study,
)
from harness.repair.settings import SPPFTSettings
from harness.repair.sppft import train_sppft
from harness.testing import build_tiny_checkpoint
from harness.training import SFTExample

EXAMPLES = [SFTExample(f"What is {i} plus {i}?", f"It is {2 * i}.") for i in range(8)]
QUICK = SPPFTSettings(
    learning_rate=1e-2, warmup_steps=0, max_steps=2, batch_size=2, safety_share=0.0
)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("study") / "base")


def test_random_bands_avoid_the_given_bands_and_follow_the_seed() -> None:
    avoid = (LayerRange(10, 15), LayerRange(0, 5))
    bands = {random_band(30, 6, avoid, seed) for seed in range(40)}
    assert len(bands) > 3
    for band in bands:
        assert band.last - band.first == 5 and band.first >= 0 and band.last <= 29
        assert all(band.last < a.first or band.first > a.last for a in avoid)
    assert random_band(30, 6, avoid, 7) == random_band(30, 6, avoid, 7)
    with pytest.raises(ValueError, match="no 6-block band"):
        random_band(12, 6, (LayerRange(3, 8),), 0)


def test_no_band_is_full_fine_tuning(baseline: Path, tmp_path: Path) -> None:
    run = train_sppft(str(baseline), EXAMPLES, None, QUICK, checkpoint_dir=tmp_path)
    before = safetensors_torch.load_file(baseline / "model.safetensors")
    after = run.model.state_dict()
    assert run.frozen == [] and run.verified == []
    moved = [
        k for k in before if ".layers." in k and not torch.equal(before[k], after[k])
    ]
    layers = {int(k.split(".layers.")[1].split(".")[0]) for k in moved}
    assert layers == {0, 1, 2, 3}  # every block trained


def test_paired_comparison_counts_and_pools_over_seeds() -> None:
    prompts = [f"p{i}" for i in range(50)]
    # a: prompts 0-19 answered in both seeds; b: prompts 0-9 in both seeds
    a = {(s, p): i < 20 for s in (0, 1) for i, p in enumerate(prompts)}
    b = {(s, p): i < 10 for s in (0, 1) for i, p in enumerate(prompts)}
    found = compare(a, b, names=("band", "control"))
    assert (found.pairs, found.seeds) == (100, 2)
    assert (found.a_count, found.b_count, found.only_a, found.only_b) == (40, 20, 20, 0)
    assert found.p_value == mcnemar_exact(20, 0)
    assert found.difference == pytest.approx(0.2)
    assert 0.0 < found.low < 0.2 < found.high
    # the same model against itself: nothing discordant, an interval of zero
    same = compare(a, a)
    assert (same.only_a, same.only_b, same.p_value, same.low, same.high) == (
        0,
        0,
        1.0,
        0.0,
        0.0,
    )
    with pytest.raises(ValueError, match="share no"):
        compare(a, {(5, "x"): True})


def test_detectable_difference_shrinks_with_more_pairs() -> None:
    small, large = detectable_difference(0.2, 100), detectable_difference(0.2, 1000)
    assert large < small <= 0.2
    # Connor's formula, checked by hand: n = 1000, ψ = 0.2 → δ ≈ 0.040
    assert large == pytest.approx(0.0396, abs=0.001)


def test_a_stopped_study_resumes_without_training_again(
    baseline: Path, tmp_path: Path
) -> None:
    judged: list[Path] = []

    def judge(path: Path) -> dict[str, dict[str, str]]:
        judged.append(path)
        seed = int(path.parent.name.rsplit("-", 1)[1])
        return {"harm": {"a": "complied" if seed else "refused", "b": "refused"}}

    conditions = [
        Condition("full"),
        Condition("band", LayerRange(1, 2)),
        Condition("random", random_width=2, avoid=(LayerRange(1, 1),)),
    ]
    args = (str(baseline), EXAMPLES, conditions)
    run_study(*args, [0], QUICK, judge, tmp_path, layers=4, log=lambda _: None)
    assert len(judged) == 3
    runs = run_study(
        *args, [0, 1], QUICK, judge, tmp_path, layers=4, log=lambda _: None
    )
    assert len(judged) == 6 and len(runs) == 6
    assert load_runs(tmp_path / "runs.jsonl") == runs
    assert [r.band for r in runs if r.condition == "full"] == [None, None]
    assert all(
        r.band == [1, 2] and r.frozen_verified for r in runs if r.condition == "band"
    )
    assert [r.band for r in runs if r.condition == "random"] == [[2, 3], [2, 3]]
    assert outcomes(runs, "band", "harm", "complied") == {
        (0, "a"): False,
        (0, "b"): False,
        (1, "a"): True,
        (1, "b"): False,
    }
    assert not list(tmp_path.glob("work-*"))  # trained models are not kept
