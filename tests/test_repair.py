"""The repair ladder on tiny random models: rungs, selection, output, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from safetensors import torch as safetensors_torch

from harness.checkpoint import fingerprint_checkpoint
from harness.cli import USAGE_ERROR, main
from harness.errors import ConfigError
from harness.layers import LayerRange
from harness.repair import CandidateVerdict, RepairSettings, repair
from harness.repair import cli as cli_module
from harness.repair.bands import choose_band, drift_band, widening_bands
from harness.repair.data import file_sha256, load_repair_data
from harness.repair.output import MANIFEST, REPORT, failure_path
from harness.testing import build_tiny_checkpoint

FAST = dict(max_utility_loss=10.0, max_divergence=1.0, max_bands=3)


def make_finetuned(base: Path, out: Path, scale: float = 0.05, seed: int = 1) -> Path:
    """The baseline with seeded noise on every parameter: a stand-in fine-tune."""
    import shutil

    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(scale * torch.randn(param.shape, generator=generator))
    model.save_pretrained(out)
    for file in base.glob("tokenizer*"):
        shutil.copy(file, out / file.name)
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("repair")
    base = build_tiny_checkpoint(root / "base")
    finetuned = make_finetuned(base, root / "ft")
    rows = [
        {
            "instruction": f"What is {i} plus {i}?",
            "input": "",
            "output": f"It is {2 * i}.",
        }
        for i in range(20)
    ]
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return base, finetuned, data


def weights(path: Path) -> dict[str, Any]:
    return safetensors_torch.load_file(path / "model.safetensors")  # type: ignore[no-any-return]


class DistanceJudge:
    """Passes when the candidate's blocks ``layers`` lie close enough to the baseline.

    Distance 1.0 is the failing checkpoint, 0.0 the baseline; a stand-in for
    the gate that makes which candidate passes predictable.
    """

    def __init__(
        self,
        base: Path,
        ft: Path,
        layers: tuple[int, ...],
        limit: float,
        failing_passes: bool = False,
    ) -> None:
        self.base, self.ft = weights(base), weights(ft)
        self.failing_passes = failing_passes
        self.layers, self.limit = layers, limit
        self.calls: list[Path] = []

    def distance(self, path: Path) -> float:
        mine = weights(path) if (path / "model.safetensors").exists() else self.ft
        keys = [
            k
            for k in self.base
            if any(f"layers.{i}." in k for i in self.layers) and "norm" not in k
        ]
        moved = sum(float(((mine[k] - self.base[k]) ** 2).sum()) for k in keys)
        full = sum(float(((self.ft[k] - self.base[k]) ** 2).sum()) for k in keys)
        return float((moved / full) ** 0.5)

    def __call__(self, path: Path) -> CandidateVerdict:
        self.calls.append(path)
        d = self.distance(path)
        passed = d <= self.limit and (self.failing_passes or d < 0.999)
        return CandidateVerdict(passed, {"distance": d}, f"distance {d:.2f}")


def test_band_revert_publishes_a_passing_candidate_and_leaves_inputs_alone(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, data = models
    prints = [fingerprint_checkpoint(str(p)) for p in (base, ft)]
    judge = DistanceJudge(base, ft, (2,), limit=0.3)
    out = tmp_path / "repaired"
    settings = RepairSettings(rungs=("band",), band_lambdas=(0.0, 0.25, 0.5), **FAST)
    result = repair(
        ft,
        base,
        judge=judge,
        out_dir=out,
        data=data,
        band=LayerRange(2, 2),
        settings=settings,
    )
    assert result.kept is not None and result.output == out.resolve()
    assert result.kept.params["band"] == [2, 2]
    assert result.kept.params["lambda"] in (0.0, 0.25)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["rung"] == "band" and manifest["band"] == [2, 2]
    assert manifest["data"]["sha256"] == file_sha256(data)
    assert manifest["before"]["metrics"]["distance"] == pytest.approx(1.0)
    assert manifest["after"]["passed"] is True
    assert len(manifest["rungs"][0]["candidates"]) == 3
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in out.iterdir()
    }
    kept, original, baseline = weights(out), weights(ft), weights(base)
    lam = result.kept.params["lambda"]
    key = "model.layers.2.mlp.down_proj.weight"
    expected = baseline[key] + lam * (original[key] - baseline[key])
    assert torch.allclose(kept[key], expected, atol=1e-6)
    assert torch.equal(
        kept["model.layers.0.mlp.down_proj.weight"],
        original["model.layers.0.mlp.down_proj.weight"],
    )
    assert [fingerprint_checkpoint(str(p)) for p in (base, ft)] == prints
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repaired"]  # no scratch
    assert (out / REPORT).is_file() and " -> " in result.lines()[-2]


def test_interpolation_keeps_the_largest_lambda_that_passes(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, data = models
    judge = DistanceJudge(base, ft, (0, 1, 2, 3), limit=0.55)
    settings = RepairSettings(rungs=("interpolate",), **FAST)
    result = repair(
        ft, base, judge=judge, out_dir=tmp_path / "o", data=data, settings=settings
    )
    assert result.kept is not None and result.kept.params == {"lambda": 0.5}
    tried = [c.params["lambda"] for c in result.rungs[0].candidates]
    assert tried == [0.9, 0.75, 0.5]  # largest first, stop at the first pass
    assert len(judge.calls) == 4  # the failing checkpoint, then three candidates


def test_without_a_passing_candidate_every_rung_is_recorded(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, _ = models
    judge = DistanceJudge(base, ft, (0, 1, 2, 3), limit=-1.0)  # never passes
    settings = RepairSettings(
        rungs=("band", "sppft"),
        band_lambdas=(0.0,),
        benign_prompts=2,
        answer_tokens=4,
        **FAST,
    )
    out = tmp_path / "o"
    result = repair(ft, base, judge=judge, out_dir=out, settings=settings)
    assert result.kept is None and not out.exists()
    assert result.rungs[1].skipped.startswith("no fine-tuning data")
    assert result.before_utility is not None
    assert result.before_utility.kind == "answer_agreement"
    record = json.loads(failure_path(out.resolve()).read_text())
    assert record["repaired"] is False and record["data"] is None
    assert len(record["rungs"][0]["candidates"]) == 3  # three widening bands
    assert "no candidate passed" in "\n".join(result.lines())


def test_sparse_restore_resets_a_small_share_to_the_baseline(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, data = models
    judge = DistanceJudge(base, ft, (0,), limit=2.0)  # any candidate passes
    settings = RepairSettings(rungs=("sparse",), harmful_pairs=4, **FAST)
    out = tmp_path / "o"
    result = repair(ft, base, judge=judge, out_dir=out, data=data, settings=settings)
    assert result.kept is not None and result.kept.params["sparsity"] == 0.01
    kept, original, baseline = weights(out), weights(ft), weights(base)
    blocks = [k for k in kept if ".self_attn." in k or ".mlp." in k]
    reset = sum(int((kept[k] == baseline[k]).sum()) for k in blocks)
    total = sum(kept[k].numel() for k in blocks)
    assert 0 < reset <= 0.011 * total
    assert torch.equal(kept["lm_head.weight"], original["lm_head.weight"])


def test_a_passing_checkpoint_is_not_repaired(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, _ = models
    judge = DistanceJudge(base, ft, (0,), limit=2.0, failing_passes=True)
    result = repair(ft, base, judge=judge, out_dir=tmp_path / "o")
    assert result.kept is None and result.rungs == [] and len(judge.calls) == 1
    assert "already passes" in result.notes[0]


def test_an_existing_output_or_an_unknown_rung_is_refused(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, _ = models
    judge = DistanceJudge(base, ft, (0,), limit=2.0)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("taken")
    with pytest.raises(ConfigError, match="already exists"):
        repair(ft, base, judge=judge, out_dir=tmp_path / "o")
    with pytest.raises(ValidationError, match="rungs"):
        RepairSettings(rungs=("prayer",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="inside the input"):
        repair(ft, base, judge=judge, out_dir=ft / "repaired")


def test_bands_widen_narrowest_first_toward_larger_drift() -> None:
    drift = [0.1, 0.2, 0.9, 0.5, 0.3, 0.05]
    assert drift_band(drift, 2) == LayerRange(2, 3)
    bands = widening_bands(LayerRange(2, 2), drift, limit=10)
    assert bands[:3] == [LayerRange(2, 2), LayerRange(2, 3), LayerRange(2, 4)]
    assert bands[-1] == LayerRange(0, 5)
    widths = [b.last - b.first for b in bands]
    assert widths == sorted(widths)
    assert choose_band(drift, given=LayerRange(1, 1), located=LayerRange(3, 4)) == (
        LayerRange(1, 1),
        "given",
    )
    assert choose_band(drift, located=LayerRange(3, 4))[1] == "located"
    assert choose_band(drift) == (LayerRange(2, 2), "drift")
    with pytest.raises(ConfigError, match="outside"):
        choose_band(drift, given=LayerRange(4, 9))


def test_data_formats_are_read_and_split(tmp_path: Path) -> None:
    alpaca = tmp_path / "a.json"
    alpaca.write_text(
        json.dumps(
            [
                {"instruction": "Add", "input": "2 and 3", "output": "5"},
                {"instruction": "Say hi", "input": "", "output": "Hi"},
            ]
        )
    )
    chat = tmp_path / "c.jsonl"
    turn = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    chat.write_text("\n".join(json.dumps({"messages": turn}) for _ in range(10)))
    table = tmp_path / "t.csv"
    table.write_text("instruction,input,output\nAdd,,5\nSub,,1\n")
    a = load_repair_data(alpaca)
    assert len(a.train) + len(a.heldout) == 2 and len(a.heldout) == 1
    assert {e.prompt for e in a.train + a.heldout} == {"Add\n\n2 and 3", "Say hi"}
    c = load_repair_data(chat)
    assert (c.heldout[0].prompt, c.heldout[0].response) == ("Q", "A")
    assert len(load_repair_data(table).train) == 1
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"question": "x"}\n{"question": "y"}\n')
    with pytest.raises(ConfigError, match=r"b\.jsonl: record 0: expected"):
        load_repair_data(bad)
    with pytest.raises(ConfigError, match="unknown data format"):
        load_repair_data(tmp_path / "d.parquet")


def test_cli_repairs_nothing_when_the_suites_pass(
    models: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, ft, _ = models
    seen: list[Any] = []

    def fake_gate(settings: Any, *, baseline: str, early_stop: bool) -> Any:
        seen.append((settings, baseline, early_stop))
        return lambda path: CandidateVerdict(True, {"harm.harm_rate": 0.0}, "ok")

    monkeypatch.setattr(cli_module, "gate_candidate_judge", fake_gate)
    code = main(
        [
            "repair",
            "--model",
            str(base),
            "--baseline",
            str(ft),
            "--out",
            str(tmp_path / "o"),
            "--max-prompts",
            "2",
            "--max-new-tokens",
            "2",
            "--harm-threshold",
            "1",
            "--over-refusal-threshold",
            "1",
            "--device",
            "cpu",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "already passes" in out and "harm.harm_rate" in out
    assert "no candidate passed" not in out
    settings, baseline, early_stop = seen[0]
    assert (settings.max_prompts, settings.max_new_tokens) == (2, 2)
    assert settings.harm_threshold == 1.0 and settings.device == "cpu"
    assert baseline == str(ft) and early_stop is True


def test_cli_names_bad_input(
    models: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _, _ = models
    missing = tmp_path / "nope"
    args = [
        "repair",
        "--model",
        str(missing),
        "--baseline",
        str(base),
        "--out",
        str(tmp_path / "o"),
        "--max-prompts",
        "1",
    ]
    assert main(args) == USAGE_ERROR
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args[:-2], "--safety-layers", "3,1"])
    assert "0 <= A <= B" in capsys.readouterr().err
    # a value the settings reject is a usage error (exit 4) naming the field
    assert main([*args, "--rungs", "band,prayer"]) == USAGE_ERROR
    err = capsys.readouterr().err
    assert "field 'rungs.1'" in err and "'interpolate'" in err
    assert main([*args, "--max-utility-loss", "-1"]) == USAGE_ERROR
    err = capsys.readouterr().err
    assert "max_utility_loss" in err and "greater than or equal to 0" in err
    assert main([*args, "--sppft-safety-share", "1.5"]) == USAGE_ERROR
    assert "sppft.safety_share" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # not a number at all: argparse says so
        main([*args, "--max-bands", "many"])
    assert "invalid int value" in capsys.readouterr().err


def test_every_rung_gives_each_rung_its_figures_and_keeps_the_cheapest(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, data = models
    judge = DistanceJudge(base, ft, (2,), limit=0.6)
    settings = RepairSettings(
        rungs=("band", "interpolate"),
        band_lambdas=(0.0, 0.5),
        interpolation_lambdas=(0.9, 0.5),
        every_rung=True,
        **FAST,
    )
    out = tmp_path / "o"
    result = repair(
        ft,
        base,
        judge=judge,
        out_dir=out,
        data=data,
        band=LayerRange(2, 2),
        settings=settings,
    )
    assert result.kept is not None and result.kept.rung == "band"
    interpolated = result.rungs[1].candidates
    assert [c.params["lambda"] for c in interpolated] == [0.9, 0.5]
    passed = [c for c in interpolated if c.passed]
    assert passed and passed[0].params == {"lambda": 0.5}
    assert "cheaper rung" in passed[0].note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # nothing else kept
    manifest = json.loads((out / MANIFEST).read_text())
    assert [r["rung"] for r in manifest["rungs"]] == ["band", "interpolate"]


def test_repair_settings_load_from_yaml_and_flags_override_them(
    tmp_path: Path,
) -> None:
    import argparse

    from harness.repair.cli import register, settings_from_args
    from harness.repair.config import load_repair_settings

    path = tmp_path / "repair.yaml"
    path.write_text(
        "rungs: [band, sppft]\nband_lambdas: [0, 0.5]\nevery_rung: true\n"
        "sppft:\n  max_steps: 80\n  learning_rate: 3.0e-4\n"
    )
    settings = load_repair_settings(path)
    assert settings.rungs == ("band", "sppft") and settings.band_lambdas == (0.0, 0.5)
    assert settings.every_rung and settings.sppft.max_steps == 80
    assert settings.sppft.batch_size == 4  # Table 6 default kept

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "repair",
            "--model",
            "m",
            "--baseline",
            "b",
            "--out",
            "o",
            "--config",
            str(path),
            "--sppft-max-steps",
            "5",
            "--full-judging",
        ]
    )
    merged = settings_from_args(args)
    assert merged.sppft.max_steps == 5 and merged.sppft.learning_rate == 3e-4
    assert merged.rungs == ("band", "sppft") and not merged.early_stop


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rungz: [band]\n", "field 'rungz'"),
        ("sppft:\n  max_stepz: 3\n", "field 'sppft.max_stepz'"),
        ("band_lambdas: [1.5]\n", "field 'band_lambdas.0': Input should be less"),
        ("rungs: [nope]\n", "field 'rungs.0': Input should be 'band'"),
        ("vector_scales: [0]\n", "field 'vector_scales.0': Input should be greater"),
        ("- band\n", "expected a mapping"),
    ],
)
def test_bad_repair_settings_name_the_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    from harness.repair.config import load_repair_settings

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_repair_settings(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_separate_heldout_file_is_the_utility_set_and_all_data_trains(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, ft, data = models
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(
        "".join(
            json.dumps({"prompt": f"What is {i} times 3?", "response": f"{3 * i}."})
            + "\n"
            for i in range(5)
        )
    )
    loaded = load_repair_data(data, heldout=heldout)
    assert len(loaded.train) == 20 and len(loaded.heldout) == 5
    assert loaded.heldout[0].prompt == "What is 0 times 3?"
    assert loaded.heldout_sha256 == file_sha256(heldout)
    judge = DistanceJudge(base, ft, (0, 1, 2, 3), limit=0.55)
    settings = RepairSettings(rungs=("interpolate",), **FAST)
    out = tmp_path / "o"
    repair(
        ft,
        base,
        judge=judge,
        out_dir=out,
        data=data,
        heldout=heldout,
        settings=settings,
    )
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["data"]["heldout_path"] == str(heldout)
    assert manifest["data"]["train"] == 20 and manifest["data"]["heldout"] == 5
    with pytest.raises(ConfigError, match="needs the fine-tuning data"):
        repair(ft, base, judge=judge, out_dir=tmp_path / "p", heldout=heldout)
