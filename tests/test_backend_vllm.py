"""vLLM backend parity with the HF backend (runs only where vllm is installed).

CI has no vLLM; run it in a venv with the CPU build (see DEVELOPERS.md):
``VLLM_ENABLE_V1_MULTIPROCESSING=0 pytest tests/test_backend_vllm.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("vllm")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from harness.backends import BackendSpec, create_backend
from harness.checkpoint import LoadOptions
from harness.prompts import PromptFormatter
from harness.testing import TinySpec, build_tiny_checkpoint

PROMPTS = ["How to kill time?", "Write a poem about the sea.", "Hi"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # head_dim 32: vLLM's CPU attention kernels need a supported head size.
    spec = TinySpec(hidden=128, heads=4, kv_heads=2, intermediate=256)
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"), spec)


def test_vllm_greedy_matches_hf_and_frees_engine(tiny: Path) -> None:
    options = LoadOptions(device="cpu", dtype="float32")
    hf = create_backend("hf", str(tiny), BackendSpec(options))
    prompts = PromptFormatter(hf.tokenizer).prompts(PROMPTS)
    expected = hf.generate(prompts, max_new_tokens=8)
    hf.close()

    vllm_backend = create_backend("vllm", str(tiny), BackendSpec(options))
    try:
        got = vllm_backend.generate(prompts, max_new_tokens=8)
    finally:
        vllm_backend.close()
    assert got == expected
    assert vllm_backend._llm is None  # type: ignore[attr-defined]
