"""The ``hf`` backend's automatic batch: GPU memory, CPU rule, powers of two."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.batching import (
    CPU_BATCH,
    GPU_MAX_BATCH,
    MEMORY_SHARE,
    ModelShape,
    auto_batch_size,
    free_memory,
    model_shape,
    power_of_two_floor,
)

#: Qwen2.5-1.5B in bf16: 28 layers, 2 KV heads of 128.
QWEN_1_5B = ModelShape(
    layers=28,
    hidden=1536,
    intermediate=8960,
    kv_heads=2,
    head_dim=128,
    vocab=151936,
    element_bytes=2,
)
GIB = 1 << 30


def test_kv_cache_per_token() -> None:
    assert QWEN_1_5B.kv_bytes_per_token == 2 * 28 * 2 * 128 * 2


@pytest.mark.parametrize(("value", "floor"), [(0, 1), (1, 1), (5, 4), (64, 64)])
def test_power_of_two_floor(value: int, floor: int) -> None:
    assert power_of_two_floor(value) == floor


def test_a_large_gpu_takes_the_largest_batch() -> None:
    size = auto_batch_size(QWEN_1_5B, "cuda", tokens_per_row=200, free_bytes=130 * GIB)
    assert size == GPU_MAX_BATCH


def test_a_small_gpu_takes_what_its_memory_holds() -> None:
    free = 2 * GIB
    size = auto_batch_size(QWEN_1_5B, "cuda:0", tokens_per_row=200, free_bytes=free)
    assert size * QWEN_1_5B.row_bytes(200) <= free * MEMORY_SHARE
    assert 2 * size * QWEN_1_5B.row_bytes(200) > free * MEMORY_SHARE
    assert size & (size - 1) == 0


def test_small_changes_in_free_memory_keep_the_batch() -> None:
    sizes = {
        auto_batch_size(QWEN_1_5B, "cuda", tokens_per_row=200, free_bytes=f)
        for f in (int(2.0 * GIB), int(2.1 * GIB), int(2.2 * GIB))
    }
    assert len(sizes) == 1


def test_cpu_uses_its_rule_unless_memory_is_short() -> None:
    roomy = auto_batch_size(QWEN_1_5B, "cpu", tokens_per_row=200, free_bytes=16 * GIB)
    assert roomy == CPU_BATCH
    assert auto_batch_size(QWEN_1_5B, "cpu", tokens_per_row=200, free_bytes=None) == (
        CPU_BATCH
    )
    tight = auto_batch_size(QWEN_1_5B, "cpu", tokens_per_row=200, free_bytes=GIB // 8)
    assert 1 <= tight < CPU_BATCH


def test_host_memory_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:    2048 kB\n")
    assert free_memory("cpu", meminfo) == 2048 * 1024
    assert free_memory("cpu", tmp_path / "missing") is None


def test_shape_from_a_model(tmp_path: Path) -> None:
    from harness.checkpoint import LoadOptions, load_checkpoint
    from harness.testing import TinySpec, build_tiny_checkpoint

    spec = TinySpec(hidden=128, heads=4, kv_heads=2, intermediate=256)
    path = build_tiny_checkpoint(tmp_path / "tiny", spec)
    model, _ = load_checkpoint(str(path), LoadOptions(device="cpu", dtype="float32"))
    shape = model_shape(model)
    assert (shape.hidden, shape.kv_heads, shape.head_dim) == (128, 2, 32)
    assert shape.element_bytes == 4
