"""``--backend auto`` and the session's pool of open backends."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness import backends
from harness.backends import (
    VLLM_CPU_BREAK_EVEN_FLOP,
    BackendPool,
    choose_backend,
    generation_flop,
    parameter_count,
)
from harness.backends import vllm as vllm_module
from harness.errors import BackendUnavailableError
from harness.progress import Advance


@pytest.fixture
def vllm_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_module, "vllm_importable", lambda: True)


def test_without_vllm_auto_is_hf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_module, "vllm_importable", lambda: False)
    assert choose_backend("auto", "cuda").name == "hf"
    with pytest.raises(BackendUnavailableError, match=r"vllm-env\.sh"):
        choose_backend("vllm")


@pytest.mark.usefixtures("vllm_installed")
def test_on_a_gpu_auto_is_vllm() -> None:
    assert choose_backend("auto", "cuda").name == "vllm"


@pytest.mark.usefixtures("vllm_installed")
def test_on_a_cpu_vllm_needs_enough_work() -> None:
    small = generation_flop(135_000_000, 230, 64)
    large = generation_flop(1_500_000_000, 230, 64)
    assert small < VLLM_CPU_BREAK_EVEN_FLOP < large
    assert choose_backend("auto", "cpu", work_flop=small).name == "hf"
    assert choose_backend("auto", "cpu", work_flop=large).name == "vllm"
    unknown = choose_backend("auto", "cpu")
    assert unknown.name == "hf"
    assert "unknown" in unknown.reason


@pytest.mark.usefixtures("vllm_installed")
def test_auto_device_on_a_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "gpu_present", lambda: False)
    assert choose_backend("auto", "auto", work_flop=1e15).name == "vllm"
    assert choose_backend("auto", "mps", work_flop=1e15).name == "hf"


def _safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    header = {
        n: {"dtype": "F32", "shape": s, "data_offsets": [0, 0]}
        for n, s in shapes.items()
    }
    header["__metadata__"] = {"format": "pt"}  # type: ignore[dict-item]
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


def test_parameter_count_reads_headers_only(tmp_path: Path) -> None:
    _safetensors(tmp_path / "model-1.safetensors", {"a": [2, 3], "b": [4]})
    _safetensors(tmp_path / "model-2.safetensors", {"c": [10]})
    assert parameter_count(tmp_path) == 20
    assert parameter_count(tmp_path / "empty") is None


class Counting:
    name = "fake"
    tokenizer = None

    def __init__(self) -> None:
        self.closed = False

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        return [p.upper() for p in prompts]

    def close(self) -> None:
        self.closed = True


def test_pool_opens_each_model_once_and_closes_at_the_end() -> None:
    pool = BackendPool(max_open=2)
    made: list[Counting] = []

    def opener() -> Counting:
        made.append(Counting())
        return made[-1]

    for _ in range(3):  # three suites on the same subject
        with pool.lease("subject", opener) as lease:
            assert lease.generate(["a"], max_new_tokens=1) == ["A"]
    assert pool.opened == 1
    assert not made[0].closed  # the lease's close keeps it open
    pool.lease("baseline", opener)
    pool.lease("third", opener)  # over max_open: the least recent closes
    assert made[0].closed and len(pool) == 2
    pool.close()
    assert all(m.closed for m in made) and len(pool) == 0
