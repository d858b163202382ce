"""Generation backends: the built-in ``hf`` and ``vllm`` and the ``auto`` choice.

The built-in backends are lazy factories in a fixed table. The one extension
point for other backends (a scripted fake, a remote server) is the plugin's
``pytest_safety_create_backend`` hook (``plugins/hookspecs.py``), which can
return any :class:`GenerationBackend` for a subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from harness.backends.base import GenerationBackend
from harness.checkpoint import LoadOptions
from harness.config import BackendName
from harness.errors import BackendUnavailableError, ConfigError

__all__ = [
    "BackendChoice",
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
    batch_size: int = 16
    seed: int = 0
    tensor_parallel_size: int = 1


Factory = Callable[[str, BackendSpec], GenerationBackend]


def _hf(ref: str, spec: BackendSpec) -> GenerationBackend:
    from harness.backends.hf import HFBackend

    return HFBackend.from_checkpoint(ref, spec.options, batch_size=spec.batch_size)


def _vllm(ref: str, spec: BackendSpec) -> GenerationBackend:
    from harness.backends.vllm import VLLMBackend

    return VLLMBackend(
        ref,
        spec.options,
        tensor_parallel_size=spec.tensor_parallel_size,
        seed=spec.seed,
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


def choose_backend(requested: str, device: str = "auto") -> BackendChoice:
    """Resolve ``auto``: vllm when it is importable and a GPU is present, else hf."""
    from harness.backends.vllm import vllm_importable

    if requested != "auto":
        if requested not in _FACTORIES:
            raise ConfigError(f"unknown backend {requested!r}")
        if requested == "vllm" and not vllm_importable():
            raise BackendUnavailableError(
                "backend 'vllm' requested but vllm is not installed; install it "
                "with: pip install 'safety-layer-harness[vllm]'"
            )
        return BackendChoice(requested, "requested")
    if device == "cpu":
        return BackendChoice("hf", "auto: device is cpu")
    if not vllm_importable():
        return BackendChoice("hf", "auto: vllm is not installed")
    if not gpu_present():
        return BackendChoice("hf", "auto: no GPU present")
    return BackendChoice("vllm", "auto: vllm installed and a GPU present")


def create_backend(name: str, ref: str, spec: BackendSpec) -> GenerationBackend:
    """Build backend ``name`` for the checkpoint ``ref``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}") from None
    return factory(ref, spec)
