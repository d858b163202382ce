"""SPPFT (paper §4) on a tiny model: the frozen band, resume, LoRA, 2 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from safetensors import torch as safetensors_torch

from harness.corpus import benign_prompts
from harness.errors import HarnessError
from harness.layers import LayerRange
from harness.repair import (
    CandidateVerdict,
    RepairSettings,
    SPPFTSettings,
    demonstrations,
    repair,
)
from harness.repair import sppft as sppft_module
from harness.repair.sppft import train_sppft, verify_frozen
from harness.testing import build_tiny_checkpoint
from harness.training import SFTExample

BAND = LayerRange(1, 2)
EXAMPLES = [SFTExample(f"What is {i} plus {i}?", f"It is {2 * i}.") for i in range(12)]
QUICK = SPPFTSettings(
    learning_rate=1e-2, warmup_steps=0, max_steps=4, batch_size=2, safety_share=0.0
)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("sppft") / "base")


def weights(path: Path) -> dict[str, Any]:
    return safetensors_torch.load_file(path / "model.safetensors")  # type: ignore[no-any-return]


def block(state: dict[str, Any], layer: int) -> list[str]:
    return [
        k
        for k in state
        if f"layers.{layer}.self_attn." in k or f"layers.{layer}.mlp." in k
    ]


def test_sppft_trains_outside_the_band_and_proves_the_band_unchanged(
    baseline: Path, tmp_path: Path
) -> None:
    run = train_sppft(str(baseline), EXAMPLES, BAND, QUICK, checkpoint_dir=tmp_path)
    before, after = weights(baseline), run.model.state_dict()
    assert run.sft.steps == 4
    assert sorted(run.verified) == sorted(block(before, 1) + block(before, 2))
    for key in run.verified:
        assert torch.equal(after[key], before[key])
    assert not all(torch.equal(after[k], before[k]) for k in block(before, 0))
    assert any(".layers.1.input_layernorm" in k for k in before)  # norms train
    assert all(".self_attn." in n or ".mlp." in n for n in run.frozen)


def test_a_moved_frozen_tensor_is_caught(baseline: Path) -> None:
    before = weights(baseline)
    after = dict(before)
    key = block(before, 1)[0]
    after[key] = before[key] + 1e-6
    with pytest.raises(HarnessError, match="changed during training"):
        verify_frozen(after, before, BAND)


class StopAfter(transformers.TrainerCallback):  # type: ignore[misc]
    """Interrupt training once ``steps`` optimizer steps are done (and saved)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step >= self.steps:
            raise KeyboardInterrupt("simulated interruption")


class FirstStep(transformers.TrainerCallback):  # type: ignore[misc]
    def __init__(self) -> None:
        self.first: int | None = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.first is None:
            self.first = state.global_step


def test_an_interrupted_run_resumes_to_completion(
    baseline: Path, tmp_path: Path
) -> None:
    settings = SPPFTSettings(**{**QUICK.as_dict(), "save_steps": 1})
    with pytest.raises(KeyboardInterrupt):
        train_sppft(
            str(baseline),
            EXAMPLES,
            BAND,
            settings,
            checkpoint_dir=tmp_path,
            callbacks=[StopAfter(2)],
        )
    assert (tmp_path / "checkpoint-2").is_dir()
    first = FirstStep()
    run = train_sppft(
        str(baseline),
        EXAMPLES,
        BAND,
        settings,
        checkpoint_dir=tmp_path,
        callbacks=[first],
    )
    assert first.first == 3  # it continued after step 2, not from the start
    assert run.sft.steps == 4 and len(run.verified) == 14


def test_lora_mode_leaves_the_band_out(baseline: Path, tmp_path: Path) -> None:
    settings = SPPFTSettings(**{**QUICK.as_dict(), "lora_rank": 4})
    run = train_sppft(
        str(baseline), EXAMPLES, BAND, settings, checkpoint_dir=tmp_path, lora=True
    )
    before, after = weights(baseline), run.model.state_dict()
    assert run.lora and run.verified and run.frozen == []
    assert not all(torch.equal(after[k], before[k]) for k in block(before, 3))


@pytest.mark.parametrize("lora", [None, True])
def test_the_ladder_keeps_an_sppft_candidate(
    baseline: Path, tmp_path: Path, lora: bool | None
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": e.prompt, "response": e.response}) + "\n"
            for e in EXAMPLES
        )
    )
    calls: list[Path] = []

    def judge(path: Path) -> CandidateVerdict:
        calls.append(path)
        return CandidateVerdict(
            len(calls) > 1, {"harm_rate": 0.5 if len(calls) == 1 else 0.0}
        )

    sppft = SPPFTSettings(**{**QUICK.as_dict(), "lora": lora, "lora_rank": 4})
    settings = RepairSettings(rungs=("sppft",), max_utility_loss=100.0, sppft=sppft)
    out = tmp_path / "out"
    result = repair(
        baseline,
        baseline,
        judge=judge,
        out_dir=out,
        data=data,
        band=BAND,
        settings=settings,
    )
    assert result.kept is not None and result.kept.rung == "sppft"
    manifest = json.loads((out / "repair_manifest.json").read_text())
    assert manifest["params"]["frozen_tensors_verified"] == 14
    assert manifest["params"]["learning_rate"] == QUICK.learning_rate
    # a full checkpoint gets full fine-tuning unless ``lora: true`` asks for adapters
    assert manifest["params"]["lora"] is bool(lora)
    assert not list(tmp_path.glob(".*"))  # checkpoints removed after success
    assert manifest["params"]["safety_share"] == 0.03  # the smallest share first


def test_sppft_tiers_climb_the_safety_shares(baseline: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": e.prompt, "response": e.response}) + "\n"
            for e in EXAMPLES
        )
    )
    sppft = SPPFTSettings(**{**QUICK.as_dict(), "max_steps": 1})
    settings = RepairSettings(
        rungs=("sppft",),
        sppft_safety_shares=(0.25, 0.0),
        max_utility_loss=100.0,
        sppft=sppft,
    )
    result = repair(
        baseline,
        baseline,
        judge=lambda path: CandidateVerdict(False, {"harm_rate": 1.0}),
        out_dir=tmp_path / "out",
        data=data,
        band=BAND,
        settings=settings,
    )
    tried = result.rungs[0].candidates
    assert [c.params["safety_share"] for c in tried] == [0.0, 0.25]
    assert [c.params["safety_examples"] for c in tried] == [0, 4]  # 12 * 1/3


def test_sppft_mixes_in_the_baseline_s_own_answers_to_edgy_requests(
    baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contrasts are edgy benign training requests with the baseline's own
    answers where it did not refuse; they join the mix beside the user's data
    and the safety demonstrations, whose share they do not change."""
    edgy = {p.prompt for p in benign_prompts("train", kinds=("edgy",))}
    asked: list[str] = []

    def answers(model: Any, tokenizer: Any, prompts: list[str], n: int) -> list[str]:
        asked.extend(prompts)
        return [
            "I'm sorry, I can't." if i % 2 else "Sure: it is safe."
            for i in range(len(prompts))
        ]

    mixes: list[list[SFTExample]] = []
    real_mix = sppft_module.training_mix

    def recording_mix(*args: Any) -> tuple[list[SFTExample], int]:
        mixed, count = real_mix(*args)
        mixes.append(mixed)
        return mixed, count

    monkeypatch.setattr(demonstrations, "greedy_answers", answers)
    monkeypatch.setattr(sppft_module, "training_mix", recording_mix)
    settings = SPPFTSettings(
        **{
            **QUICK.as_dict(),
            "max_steps": 1,
            "safety_share": 0.25,
            "contrast_examples": 3,
        }
    )
    run = train_sppft(str(baseline), EXAMPLES, BAND, settings, checkpoint_dir=tmp_path)
    assert asked and set(asked) <= edgy
    assert run.contrast_examples == 3 and run.safety_examples == 4  # 12 * 1/3
    assert run.examples == 12 + 3 + 4
    (mix,) = mixes
    contrasts = [e for e in mix if e.prompt in edgy]
    assert len(contrasts) == 3 and all(
        e.response == "Sure: it is safe." for e in contrasts
    )


def test_sppft_under_two_processes_keeps_the_band_frozen(
    baseline: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"instruction": e.prompt, "output": e.response}) + "\n"
            for e in EXAMPLES
        )
    )
    launcher = Path(sys.executable).with_name("accelerate")
    if not launcher.exists():
        pytest.skip("accelerate's launcher is not installed beside this Python")
    # --multi_gpu on a machine without GPUs: torch.distributed.run with gloo.
    command = [
        str(launcher),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "harness.repair",
        "--baseline",
        str(baseline),
        "--data",
        str(data),
        "--band",
        "1,2",
        "--out",
        str(tmp_path / "run"),
        "--max-steps",
        "2",
        "--warmup-steps",
        "0",
        "--batch-size",
        "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [
        json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)
    ]
    assert [r["world"] for r in ranks] == [2, 2]
    assert all(r["verified"] == 14 and r["steps"] == 2 for r in ranks)
    before, after = weights(baseline), weights(tmp_path / "run" / "model")
    for key in block(before, 1) + block(before, 2):
        assert torch.equal(after[key], before[key])
