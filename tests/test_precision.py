"""The dtype chooser: bf16 only where the hardware runs it natively."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.precision import (
    CpuInfo,
    autocast_bf16,
    choose_dtype,
    parse_cpu_info,
    torch_dtype,
)

AVX2_ONLY = CpuInfo("AMD EPYC", frozenset({"sse4_2", "avx", "avx2", "fma"}))
AVX512_BF16 = CpuInfo(
    "Intel Xeon", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_tile"})
)
AMX = CpuInfo("Intel Xeon", frozenset({"avx2", "avx512f", "amx_bf16"}))
AVX512_NO_BF16 = CpuInfo("Intel Xeon", frozenset({"avx2", "avx512f"}))

CPUINFO = """\
processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx avx2 fma
processor\t: 1
model name\t: something else
flags\t\t: avx512_bf16
"""


def test_auto_is_fp32_where_bf16_is_emulated() -> None:
    assert choose_dtype("auto", "cpu", cpu=AVX2_ONLY) == "float32"
    assert choose_dtype("auto", "cpu", cpu=AVX512_NO_BF16) == "float32"


def test_auto_is_bf16_where_bf16_is_native() -> None:
    assert choose_dtype("auto", "cpu", cpu=AVX512_BF16) == "bfloat16"
    assert choose_dtype("auto", "cpu", cpu=AMX) == "bfloat16"


def test_an_explicit_dtype_overrides_the_hardware() -> None:
    assert choose_dtype("bfloat16", "cpu", cpu=AVX2_ONLY) == "bfloat16"
    assert choose_dtype("float32", "cpu", cpu=AVX512_BF16) == "float32"


def test_unknown_dtype_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="int8"):
        choose_dtype("int8", "cpu", cpu=AVX2_ONLY)
    with pytest.raises(ConfigError, match="auto"):
        torch_dtype("auto")


def test_training_autocasts_only_on_native_bf16() -> None:
    assert not autocast_bf16("auto", "cpu", cpu=AVX2_ONLY)
    assert autocast_bf16("auto", "cpu", cpu=AVX512_BF16)
    assert not autocast_bf16("float32", "cpu", cpu=AVX512_BF16)
    with pytest.raises(ConfigError, match="float16"):
        autocast_bf16("float16", "cpu", cpu=AVX512_BF16)


def test_cpuinfo_reads_the_first_processor() -> None:
    info = parse_cpu_info(CPUINFO.splitlines())
    assert info.model == "AMD EPYC 7B13"
    assert not info.native_bf16
    assert "flags: avx2 fma; bf16: emulated" in info.describe()
    assert info.as_dict()["flags"] == ["avx2", "fma"]


def test_torch_dtype_maps_names() -> None:
    import torch

    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype("float32") is torch.float32
