"""What the vLLM backend asks of vLLM's ``LLM``, checked against a fake ``vllm``.

The real engine is exercised in the vLLM venv (``tests/test_backend_vllm.py``,
``scripts/vllm-env.sh``); here the arguments are checked everywhere.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harness.backends import BackendSpec, create_backend
from harness.backends import vllm as vllm_backend
from harness.checkpoint import LoadOptions
from harness.precision import CpuInfo
from harness.testing import build_tiny_checkpoint


class FakeLLM:
    """Records its keyword arguments; generates nothing."""

    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        FakeLLM.made.append(kwargs)

    def get_tokenizer(self) -> None:
        return None


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    for name in vllm_backend.ENGINE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    FakeLLM.made = []
    return FakeLLM.made


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


def test_auto_dtype_reaches_vllm_resolved(
    fake_vllm: list[dict[str, Any]], tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    amx = CpuInfo("Xeon", frozenset({"amx_bf16"}))
    monkeypatch.setattr("harness.precision.read_cpu_info", lambda: amx)
    create_backend("vllm", str(tiny), BackendSpec(LoadOptions(device="cpu")))
    (kwargs,) = fake_vllm
    assert kwargs["dtype"] == "bfloat16"  # never "auto": vLLM's auto is the config's


def test_engine_arguments(fake_vllm: list[dict[str, Any]], tiny: Path) -> None:
    spec = BackendSpec(
        LoadOptions(device="cuda", dtype="float16"),
        tensor_parallel_size=2,
        gpu_memory_utilization=0.4,
        max_model_len=1024,
        seed=7,
    )
    create_backend("vllm", str(tiny), spec)
    (kwargs,) = fake_vllm
    assert kwargs["dtype"] == "float16"
    assert kwargs["tensor_parallel_size"] == 2
    assert kwargs["gpu_memory_utilization"] == 0.4
    assert kwargs["max_model_len"] == 1024
    assert kwargs["seed"] == 7


def test_defaults_fit_the_model_and_the_host(
    fake_vllm: list[dict[str, Any]], tiny: Path
) -> None:
    spec = BackendSpec(LoadOptions(device="cpu", dtype="float32"))
    create_backend("vllm", str(tiny), spec)
    (kwargs,) = fake_vllm
    assert kwargs["max_model_len"] == 512  # the tiny model's own limit
    assert 0 < kwargs["gpu_memory_utilization"] <= 0.5  # a share of the host


def test_compile_cache_is_reusable(fake_vllm: list[dict[str, Any]], tiny: Path) -> None:
    import os

    create_backend("vllm", str(tiny), BackendSpec(LoadOptions(dtype="float32")))
    assert os.environ["VLLM_USE_AOT_COMPILE"] == "0"


def test_memory_share_on_cpu(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 1000 kB\nMemAvailable: 600 kB\n")
    assert vllm_backend.memory_share("cpu", meminfo) == 0.3
    assert vllm_backend.memory_share("cuda", meminfo) == vllm_backend.GPU_MEMORY_SHARE
    assert vllm_backend.memory_share("cpu", tmp_path / "missing") == 0.3
