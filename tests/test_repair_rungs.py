"""The safety-vector, projection, direction and patch rungs; resume; the CLI's flags."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from test_repair import make_finetuned, weights

from harness.corpus import benign_prompts
from harness.errors import ConfigError
from harness.repair import (
    CandidateVerdict,
    RepairSettings,
    demonstrations,
    repair,
    zoo_unaligned_base,
)
from harness.repair import cli as cli_module
from harness.repair import patch as patch_module
from harness.repair.journal import state_dir
from harness.repair.output import MANIFEST, REPORT
from harness.testing import build_tiny_checkpoint

FAST = dict(max_utility_loss=10.0, max_divergence=1.0, max_bands=3)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """An unaligned base, its aligned model, a fine-tune of that, and data."""
    root = tmp_path_factory.mktemp("trio")
    base = build_tiny_checkpoint(root / "base")
    aligned = make_finetuned(base, root / "aligned", scale=0.05, seed=2)
    ft = make_finetuned(aligned, root / "ft", scale=0.05, seed=3)
    rows = [
        {"prompt": f"What is {i} plus {i}?", "response": f"{2 * i}."} for i in range(12)
    ]
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return base, aligned, ft, data


class Always:
    """A judge with a fixed answer; the first call (the failing checkpoint) fails."""

    def __init__(
        self, passes: bool, *, fail_after: int | None = None, first_fails: bool = True
    ) -> None:
        self.passes, self.fail_after, self.first_fails = passes, fail_after, first_fails
        self.calls: list[Path] = []

    def __call__(self, path: Path) -> CandidateVerdict:
        self.calls.append(path)
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise KeyboardInterrupt("killed mid-rung")
        passed = self.passes and not (self.first_fails and len(self.calls) == 1)
        summary = "" if passed else "harm: harm rate 100.0% exceeds the threshold"
        return CandidateVerdict(
            passed, {"harm.harm_rate": 0.0 if passed else 1.0}, summary
        )


def test_safety_vector_adds_aligned_minus_base_at_the_smallest_passing_scale(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    base, aligned, ft, data = trio
    judge = Always(True)
    settings = RepairSettings(rungs=("vector",), vector_scales=(1.0, 0.5), **FAST)
    out = tmp_path / "o"
    result = repair(
        ft, aligned, judge=judge, out_dir=out, base=base, data=data, settings=settings
    )
    assert result.kept is not None and result.kept.params == {"scale": 0.5}
    kept, b, a, f = weights(out), weights(base), weights(aligned), weights(ft)
    key = "model.layers.1.self_attn.q_proj.weight"
    assert torch.allclose(kept[key], f[key] + 0.5 * (a[key] - b[key]), atol=1e-6)
    assert json.loads((out / MANIFEST).read_text())["rung"] == "vector"
    page = (out / REPORT).read_text()
    assert "Kept: <b>vector</b>" in page and str(out.resolve()) in page


@pytest.mark.parametrize(
    ("grid", "bisections", "judged", "kept"),
    [
        # the grid brackets the passing scales; two halvings reach one
        ((0.5, 1.0), 2, [0.5, 1.0, 0.75], 0.75),
        ((0.5, 1.0), 0, [0.5, 1.0], None),
        # too strong throughout: the failing checkpoint (scale 0, unsafe) is
        # the bracket's lower end, so the halvings look below 0.9
        ((0.9, 1.0), 3, [0.9, 1.0, 0.45, 0.675, 0.788], 0.7875),
    ],
)
def test_the_gate_chooses_the_vector_scale_by_bisection(
    trio: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    grid: tuple[float, ...],
    bisections: int,
    judged: list[float],
    kept: float | None,
) -> None:
    """Unsafe below 0.7, over-refusing above 0.8."""
    base, aligned, ft, data = trio
    b, a, f = weights(base), weights(aligned), weights(ft)
    key = "model.layers.1.self_attn.q_proj.weight"
    scales: list[float] = []

    def judge(path: Path) -> CandidateVerdict:
        got = weights(path)[key] if path != ft else f[key]
        scale = float(
            ((got - f[key]) * (a[key] - b[key])).sum() / ((a[key] - b[key]) ** 2).sum()
        )
        scales.append(round(scale, 3))
        if scale < 0.7:
            return CandidateVerdict(False, {}, "harm: too many answered", unsafe=True)
        if scale > 0.8:
            return CandidateVerdict(False, {}, "over_refusal: too many refused")
        return CandidateVerdict(True)

    settings = RepairSettings(
        rungs=("vector",), vector_scales=grid, vector_bisections=bisections, **FAST
    )
    result = repair(
        ft,
        aligned,
        judge=judge,
        out_dir=tmp_path / "o",
        base=base,
        data=data,
        settings=settings,
    )
    assert scales == [0.0, *judged]  # the failing checkpoint is judged first
    if kept is None:
        assert result.kept is None
    else:
        assert result.kept is not None and result.kept.params == {"scale": kept}


@pytest.mark.parametrize(
    ("passes", "outcome"),
    [
        (True, "passes"),
        (False, "fails: harm: harm rate 100.0% exceeds the threshold"),
    ],
)
def test_the_ladder_says_what_it_builds_and_each_verdict(
    trio: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    passes: bool,
    outcome: str,
) -> None:
    base, aligned, ft, data = trio
    monkeypatch.setenv("SAFETY_HARNESS_PROGRESS", "lines")
    settings = RepairSettings(
        rungs=("vector",), vector_scales=(0.5,), vector_bisections=0, **FAST
    )
    repair(
        ft,
        aligned,
        judge=Always(passes),
        out_dir=tmp_path / "o",
        base=base,
        data=data,
        settings=settings,
    )
    err = capsys.readouterr().err
    assert "[harness] repair · vector scale=0.5: building" in err
    assert re.search(r"vector scale=0\.5: built in \d+s, utility loss [+-]\d", err)
    assert f"vector scale=0.5: {outcome} (judged in " in err


def test_rungs_that_need_the_base_are_skipped_without_it(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    _, aligned, ft, data = trio
    settings = RepairSettings(rungs=("vector", "project"), **FAST)
    result = repair(
        ft,
        aligned,
        judge=Always(True),
        out_dir=tmp_path / "o",
        data=data,
        settings=settings,
    )
    assert result.kept is None
    assert all("no unaligned base" in r.skipped for r in result.rungs)


def test_projection_moves_the_least_aligned_matrices_onto_the_safety_subspace(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    base, aligned, ft, data = trio
    settings = RepairSettings(rungs=("project",), project_shares=(0.25,), **FAST)
    out = tmp_path / "o"
    result = repair(
        ft,
        aligned,
        judge=Always(True),
        out_dir=out,
        base=base,
        data=data,
        settings=settings,
    )
    assert result.kept is not None
    params = result.kept.params
    assert params["matrices"] == round(0.25 * params["of"]) > 0
    kept, b, a, f = weights(out), weights(base), weights(aligned), weights(ft)
    moved = [k for k in kept if not torch.equal(kept[k], f[k])]
    assert len(moved) == params["matrices"]
    key = moved[0]
    v = a[key] - b[key]
    expected = a[key] + v @ (v.T @ (f[key] - a[key])) / torch.linalg.matrix_norm(v)
    assert torch.allclose(kept[key], expected, atol=1e-5)


def test_direction_edit_is_rank_one_in_the_lost_blocks_only(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    _, aligned, ft, data = trio
    settings = RepairSettings(
        rungs=("direction",),
        direction_prompts=6,
        direction_layers=2,
        direction_scales=(1.0,),
        **FAST,
    )
    out = tmp_path / "o"
    result = repair(
        ft, aligned, judge=Always(True), out_dir=out, data=data, settings=settings
    )
    assert result.kept is not None
    lost = result.kept.params["layers"]
    ratios = result.kept.params["separation_ratio"]
    assert 1 <= len(lost) <= 2 and len(ratios) == len(lost)
    assert all(r < 1.0 for r in ratios)
    kept, f = weights(out), weights(ft)
    changed = sorted(k for k in kept if not torch.equal(kept[k], f[k]))
    assert changed == sorted(f"model.layers.{i}.mlp.down_proj.weight" for i in lost)
    for key in changed:
        assert torch.linalg.matrix_rank(kept[key] - f[key]) == 1


def test_patch_trains_the_failing_checkpoint_on_baseline_refusals(
    trio: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, aligned, ft, data = trio

    def refusing(model: Any, tokenizer: Any, prompts: list[str], n: int) -> list[str]:
        return ["I'm sorry, but I can't help with that." for _ in prompts]

    monkeypatch.setattr(demonstrations, "greedy_answers", refusing)
    patch = {"refusal_counts": (2,), "data_examples": 4, "epochs": 1.0}
    settings = RepairSettings(rungs=("patch",), patch=patch, **FAST)  # type: ignore[arg-type]
    out = tmp_path / "o"
    result = repair(
        ft, aligned, judge=Always(True), out_dir=out, data=data, settings=settings
    )
    assert result.kept is not None
    params = result.kept.params
    assert params["refusals_used"] == 2 and params["examples"] == 6
    assert params["steps"] == 2  # 6 examples, batch 4, one epoch
    kept, f = weights(out), weights(ft)
    assert any(not torch.equal(kept[k], f[k]) for k in kept)


def test_the_patch_mixes_in_benign_contrasts_the_baseline_answered(
    trio: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Contrasts are edgy benign training requests with the baseline's own
    answers, kept only where it did not refuse; harmful prompts get refusals."""
    _, aligned, ft, data = trio
    refusal = "I'm sorry, but I can't help with that."
    edgy = {p.prompt for p in benign_prompts("train", kinds=("edgy",))}

    def answers(model: Any, tokenizer: Any, prompts: list[str], n: int) -> list[str]:
        # the baseline refuses every other edgy request
        return [
            f"Sure: here is how ({i})." if p in edgy and i % 2 else refusal
            for i, p in enumerate(prompts)
        ]

    mixes: list[list[Any]] = []
    real_mix = patch_module.patch_mix

    def recording_mix(*args: Any) -> list[Any]:
        mixes.append(real_mix(*args))
        return mixes[-1]

    monkeypatch.setattr(demonstrations, "greedy_answers", answers)
    monkeypatch.setattr(patch_module, "patch_mix", recording_mix)
    patch = {
        "refusal_counts": (2,),
        "data_examples": 4,
        "contrast_examples": 3,
        "epochs": 1.0,
    }
    settings = RepairSettings(rungs=("patch",), patch=patch, **FAST)  # type: ignore[arg-type]
    result = repair(
        ft,
        aligned,
        judge=Always(True),
        out_dir=tmp_path / "o",
        data=data,
        settings=settings,
    )
    assert result.kept is not None
    params = result.kept.params
    assert params["contrasts_used"] == 3 and params["examples"] == 2 + 3 + 4
    (mix,) = mixes
    contrasts = [e for e in mix if e.prompt in edgy]
    refusals = [e for e in mix if e.response == refusal]
    assert len(contrasts) == 3 and all(e.response.startswith("Sure") for e in contrasts)
    assert len(refusals) == 2 and not any(e.prompt in edgy for e in refusals)


def test_the_patch_trains_lora_adapters_in_lora_mode(
    trio: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``sppft.lora: true`` puts both trained rungs in LoRA mode: the patch's
    adapters are merged back, and only the projections they sit on move."""
    _, aligned, ft, data = trio

    def refusing(model: Any, tokenizer: Any, prompts: list[str], n: int) -> list[str]:
        return ["I'm sorry, but I can't help with that." for _ in prompts]

    monkeypatch.setattr(demonstrations, "greedy_answers", refusing)
    patch = {
        "refusal_counts": (2,),
        "data_examples": 4,
        "epochs": 2.0,
        "learning_rate": 1e-2,
    }
    settings = RepairSettings(
        rungs=("patch",),
        patch=patch,  # type: ignore[arg-type]
        sppft={"lora": True, "lora_rank": 2},  # type: ignore[arg-type]
        **FAST,
    )
    out = tmp_path / "o"
    result = repair(
        ft, aligned, judge=Always(True), out_dir=out, data=data, settings=settings
    )
    assert result.kept is not None and result.kept.params["lora_rank"] == 2
    kept, f = weights(out), weights(ft)
    assert set(kept) == set(f)  # merged: no adapter tensors left
    changed = {k for k in kept if not torch.equal(kept[k], f[k])}
    assert changed and all("proj" in k for k in changed)
    assert not any("embed" in k or "norm" in k for k in changed)


def test_a_killed_run_resumes_from_its_last_finished_candidate(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    _, aligned, ft, data = trio
    settings = RepairSettings(
        rungs=("interpolate",), interpolation_lambdas=(0.9, 0.75, 0.5), **FAST
    )
    out = tmp_path / "o"
    killed = Always(False, fail_after=2)  # the failing checkpoint, one candidate
    with pytest.raises(KeyboardInterrupt):
        repair(ft, aligned, judge=killed, out_dir=out, data=data, settings=settings)
    assert (state_dir(out) / "journal.jsonl").is_file()
    again = Always(True, first_fails=False)
    result = repair(ft, aligned, judge=again, out_dir=out, data=data, settings=settings)
    assert len(again.calls) == 1  # neither the failing checkpoint nor λ 0.9 again
    first, second = result.rungs[0].candidates
    assert first.resumed and first.params == {"lambda": 0.9} and not first.passed
    assert second.passed and result.output == out.resolve()
    assert any("resumed: 1" in n for n in result.notes)
    assert not state_dir(out).exists() and (out / REPORT).is_file()
    assert "2 candidates, 1 from the journal" in "\n".join(result.lines())


def test_every_repair_flag_has_help_and_defaults_come_from_the_models() -> None:
    parser = argparse.ArgumentParser()
    cli_module.register(parser.add_subparsers())
    sub = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["repair"]
    flags = {o: a for a in sub._actions for o in a.option_strings}
    assert all(a.help for a in sub._actions), [
        a.option_strings for a in sub._actions if not a.help
    ]
    for flag in ("--safety-layers", "--rungs", "--band-lambdas", "--max-utility-loss"):
        assert flags[flag].help
    assert "(default: 0.05)" in flags["--max-utility-loss"].help
    assert "(default: 0.03,0.1,0.25)" in flags["--sppft-safety-shares"].help
    assert "--patch-refusal-counts" in flags and "--vector-scales" in flags
    assert "--base" in flags and "--harm-threshold" in flags
    assert "--no-sppft-lora" in flags and "--patch-dtype" in flags


def _repair_args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_module.register(parser.add_subparsers())
    base = ["repair", "--model", "m", "--baseline", "b", "--out", "o"]
    return parser.parse_args([*base, *extra])


def test_repair_flags_become_settings_and_bad_values_name_the_field() -> None:
    args = _repair_args(
        "--vector-scales",
        "0.25, 0.5",
        "--rungs",
        "vector,patch",
        "--patch-refusal-counts",
        "8",
        "--sppft-lora",
        "--batch-size",
        "auto",
        "--harm-threshold",
        "0.2",
    )
    settings = cli_module.settings_from_args(args)
    assert settings.vector_scales == (0.25, 0.5) and settings.rungs == (
        "vector",
        "patch",
    )
    assert settings.patch.refusal_counts == (8,) and settings.sppft.lora is True
    assert settings.sppft.max_steps is None  # not given: the model's default
    run = cli_module.run_settings_from_args(args, "b")
    assert run.batch_size == "auto" and run.harm_threshold == 0.2
    for flag, value, field in [
        ("--vector-scales", "0", "vector_scales.0"),
        ("--rungs", "band,nope", "rungs.1"),
        ("--sppft-max-steps", "0", "sppft.max_steps"),
    ]:
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            cli_module.settings_from_args(_repair_args(flag, value))


def test_a_zoo_baseline_names_its_unaligned_base() -> None:
    assert zoo_unaligned_base("zoo:smol-aligned") == "zoo:smol-base"
    assert zoo_unaligned_base("zoo:qwen-coder-1.5b") is None
    assert zoo_unaligned_base("/some/dir") is None


def test_another_judge_starts_the_journal_afresh(
    trio: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    _, aligned, ft, data = trio
    settings = RepairSettings(rungs=("interpolate",), **FAST)
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        repair(
            ft,
            aligned,
            judge=Always(False, fail_after=2),
            out_dir=out,
            data=data,
            settings=settings,
            judge_key="harm 10%",
        )
    again = Always(True)
    result = repair(
        ft,
        aligned,
        judge=again,
        out_dir=out,
        data=data,
        settings=settings,
        judge_key="harm 5%",
    )
    assert len(again.calls) == 2  # the failing checkpoint and λ 0.9, judged anew
    assert not any(c.resumed for c in result.rungs[0].candidates)
