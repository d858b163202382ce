"""Generation backends: a registry of lazy factories and the ``auto`` choice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.backends.base import GenerationBackend
from harness.checkpoint import LoadOptions
from harness.errors import BackendUnavailableError, ConfigError

__all__ = [
    "BackendChoice",
    "BackendSpec",
    "GenerationBackend",
    "backend_names",
    "choose_backend",
    "create_backend",
    "register_backend",
]

BACKEND_CHOICES = ("auto", "hf", "vllm")


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


def register_backend(name: str, factory: Factory) -> None:
    """Register a backend factory under ``name``."""
    _FACTORIES[name] = factory


def backend_names() -> list[str]:
    """Names of the registered backends."""
    return sorted(_FACTORIES)


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
