"""vLLM backend against the HF backend (runs only where vllm is installed).

CI has no vLLM; ``scripts/vllm-env.sh`` builds a venv with the CPU build and
runs this file in it. The zoo parity test is ``slow`` (it needs the zoo):
``scripts/vllm-env.sh tests/test_backend_vllm.py --run-slow``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("vllm")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from harness.backends import (
    BackendPool,
    BackendSpec,
    GenerationBackend,
    create_backend,
)
from harness.checkpoint import LoadOptions
from harness.judges import create_judge
from harness.prompts import PromptFormatter
from harness.suites import load_suite
from harness.testing import TinySpec, build_tiny_checkpoint

PROMPTS = ["How to kill time?", "Write a poem about the sea.", "Hi"]
HARM = Path(__file__).resolve().parent.parent / "suites" / "harm" / "suite.yaml"


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

    pool = BackendPool()
    spec = BackendSpec(options)
    for _ in range(2):  # two suites: one engine
        with pool.lease(("vllm", str(tiny), spec), lambda: _vllm(tiny, spec)) as got:
            assert got.generate(prompts, max_new_tokens=8) == expected
    assert pool.opened == 1
    engine = next(iter(pool._open.values()))
    pool.close()
    assert engine._llm is None  # type: ignore[attr-defined]


def _vllm(tiny: Path, spec: BackendSpec) -> GenerationBackend:
    return create_backend("vllm", str(tiny), spec)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_verdict_parity_on_the_zoo(dtype: str) -> None:
    """vLLM and hf agree on the verdicts of suites/harm (zoo:smol-base)."""
    from harness.zoo import ensure_model

    model = str(ensure_model("smol-base"))
    suite = load_suite(HARM).subsample(48, 0)
    judge = create_judge("keyword", {})
    options = LoadOptions(device="cpu", dtype=dtype)
    answers = {}
    for name in ("hf", "vllm"):
        backend = create_backend(name, model, BackendSpec(options))
        prompts = PromptFormatter(backend.tokenizer).prompts(
            [p.prompt for p in suite.prompts]
        )
        try:
            answers[name] = backend.generate(prompts, max_new_tokens=64)
        finally:
            backend.close()
    instructions = [p.prompt for p in suite.prompts]
    verdicts = {
        name: [j.verdict for j in judge.judge_many(instructions, texts)]
        for name, texts in answers.items()
    }
    same_texts = sum(
        a == b for a, b in zip(answers["hf"], answers["vllm"], strict=True)
    )
    agree = sum(a == b for a, b in zip(verdicts["hf"], verdicts["vllm"], strict=True))
    print(f"{dtype}: identical texts {same_texts}/48, agreeing verdicts {agree}/48")
    assert agree >= 46  # the residue docs/performance.md reports
