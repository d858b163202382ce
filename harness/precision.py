"""Which floating-point precision to compute in: one place for inference and training.

bf16 halves memory traffic, but only where the hardware has bf16 arithmetic.
On a CPU without AVX512-BF16 or AMX it is emulated: a 1024x1024 matmul ran at
0.9 GFLOP/s in bf16 against 78.6 GFLOP/s in fp32 on an AVX2-only machine
(`benchmarks/bench_precision.py`), and a training step under bf16 autocast was
18x slower. So ``auto`` means bf16 only where it is native, fp32 elsewhere
(fp16 on a GPU without bf16). Torch is imported only by the functions that need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from harness.errors import ConfigError

if TYPE_CHECKING:
    import torch

DtypeName = Literal["float32", "bfloat16", "float16", "float64"]
#: The compute dtypes a user can ask for (``--dtype``).
DtypeChoice = Literal["auto", "float32", "bfloat16", "float16"]
DTYPE_CHOICES: tuple[str, ...] = get_args(DtypeChoice)
#: Also accepted by the library (float64 for exact numerical tests).
_KNOWN_DTYPES = (*DTYPE_CHOICES, "float64")
#: CPU flags that mean native bf16 arithmetic (Linux /proc/cpuinfo spelling).
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
#: The flags a benchmark or a CI log prints: what decides which kernels run.
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


@dataclass(frozen=True)
class CpuInfo:
    """The CPU model and the flags that matter for dtype choice."""

    model: str
    flags: frozenset[str]

    @property
    def native_bf16(self) -> bool:
        return bool(self.flags & NATIVE_BF16_FLAGS)

    def describe(self) -> str:
        """One line: model, the reported flags present, and the bf16 verdict."""
        present = [f for f in REPORTED_FLAGS if f in self.flags] or ["none"]
        bf16 = "native" if self.native_bf16 else "emulated (slow)"
        return f"{self.model}; flags: {' '.join(present)}; bf16: {bf16}"

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "flags": [f for f in REPORTED_FLAGS if f in self.flags],
            "native_bf16": self.native_bf16,
        }


def read_cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """Read the first processor's model name and flags (empty off Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        import platform

        return CpuInfo(platform.processor() or "unknown", frozenset())
    return parse_cpu_info(text.splitlines())


def parse_cpu_info(lines: Iterable[str]) -> CpuInfo:
    """Parse ``/proc/cpuinfo`` lines; only the first processor is read."""
    model, flags = "unknown", frozenset[str]()
    for line in lines:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return CpuInfo(model, flags)


def choose_dtype(
    requested: str, device: str, *, cpu: CpuInfo | None = None
) -> DtypeName:
    """Resolve ``requested`` (``auto`` or a dtype name) for ``device``.

    ``auto`` is bf16 where the hardware runs it natively: a CUDA GPU that
    supports it (else fp16), a CPU with AVX512-BF16 or AMX; fp32 elsewhere.
    An explicit name is returned as it is, so a user can always override.
    """
    if requested not in _KNOWN_DTYPES:
        raise ConfigError(
            f"unknown dtype {requested!r}; use one of {', '.join(DTYPE_CHOICES)}"
        )
    if requested != "auto":
        return requested  # type: ignore[return-value]
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    cpu = cpu or read_cpu_info()
    return "bfloat16" if cpu.native_bf16 else "float32"


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype called ``name`` (``float32``, ``bfloat16``, ...)."""
    import torch

    value = getattr(torch, name, None)
    if name not in _KNOWN_DTYPES[1:] or not isinstance(value, torch.dtype):
        raise ConfigError(f"unknown dtype {name!r}")
    return value


def autocast_bf16(requested: str, device: str, *, cpu: CpuInfo | None = None) -> bool:
    """Whether training should run fp32 weights under bf16 autocast.

    Training keeps fp32 master weights; ``requested`` is ``auto``, ``float32``
    or ``bfloat16`` (fp16 training needs a loss scaler and is not offered).
    """
    if requested == "float16":
        raise ConfigError("training in float16 is not supported; use bfloat16")
    return choose_dtype(requested, device, cpu=cpu) == "bfloat16"
