"""Vet and load checkpoints: local HF directories, sharded weights, LoRA adapters.

This is a bottom layer: it only takes paths. ``zoo:NAME`` references are
resolved to paths at the edges (the plugin, the CLI, benchmarks) with
:func:`harness.zoo.resolve_ref`, so vetting can never build a model.

Vetting (:func:`inspect_checkpoint`) needs no torch, so bad input fails fast with
a message that names the path and what is wrong. Loading imports torch and
transformers only when called.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import CheckpointError, MissingDependencyError
from harness.precision import choose_dtype, torch_dtype
from harness.progress import quiet_library_bars

ZOO_PREFIX = "zoo:"
SAFE_WEIGHTS = ("*.safetensors",)
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")


@dataclass(frozen=True)
class LoadOptions:
    """How to load a checkpoint."""

    device: str = "cpu"
    dtype: str = "auto"
    allow_pickle: bool = False
    trust_remote_code: bool = False


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint directory holds, found without loading it."""

    ref: str
    path: Path
    kind: Literal["hf", "lora"]
    weight_files: tuple[Path, ...]
    pickled: bool
    base_ref: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.ref if self.ref.startswith(ZOO_PREFIX) else self.path.name


def checkpoint_path(ref: str) -> Path:
    """Map a checkpoint path to its resolved directory, checking that it is one.

    Raises:
        CheckpointError: ``ref`` is a ``zoo:`` reference (resolve it first with
            :func:`harness.zoo.resolve_ref`), is missing, or is a file.
    """
    if ref.startswith(ZOO_PREFIX):
        raise CheckpointError(
            f"{ref!r} is a zoo reference; resolve it to a directory first "
            "(harness.zoo.resolve_ref)"
        )
    path = Path(ref).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint {ref!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(
            f"checkpoint {ref!r} is a file; pass the directory that holds "
            "config.json and the weights"
        )
    return path.resolve()


def _weights(path: Path, patterns: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        found.extend(sorted(path.glob(pattern)))
    return found


def inspect_checkpoint(
    ref: str, *, allow_pickle: bool = False, trust_remote_code: bool = False
) -> CheckpointInfo:
    """Vet a checkpoint directory without loading its weights.

    Raises:
        CheckpointError: naming the file and what is wrong, including pickled
            weights without ``allow_pickle`` and a config that ships its own
            model code (``auto_map``) without ``trust_remote_code``.
    """
    path = checkpoint_path(ref)
    adapter_config = path / "adapter_config.json"
    config_file = path / "config.json"
    if adapter_config.is_file():
        kind: Literal["hf", "lora"] = "lora"
        config = _read_json(adapter_config)
        base_ref = config.get("base_model_name_or_path")
        if not base_ref:
            raise CheckpointError(
                f"{adapter_config}: no base_model_name_or_path; "
                "cannot merge the adapter"
            )
    elif config_file.is_file():
        kind, config, base_ref = "hf", _read_json(config_file), None
        if "auto_map" in config and not trust_remote_code:
            raise CheckpointError(
                f"{config_file}: declares its own model code (auto_map); "
                "loading it would run that code. Pass --trust-remote-code if "
                "you trust the source"
            )
    else:
        raise CheckpointError(
            f"checkpoint {ref!r} has neither config.json nor adapter_config.json"
        )
    safe = _weights(path, SAFE_WEIGHTS)
    pickled = _weights(path, PICKLE_WEIGHTS)
    if not safe and pickled and not allow_pickle:
        names = ", ".join(p.name for p in pickled[:3])
        raise CheckpointError(
            f"checkpoint {ref!r} holds only pickled weights ({names}); pickles can "
            "run code when loaded. Convert them to safetensors, or pass "
            "--allow-pickle if you trust the source"
        )
    weights = safe or pickled
    if not weights:
        raise CheckpointError(f"checkpoint {ref!r} has no weight files")
    return CheckpointInfo(
        ref=ref,
        path=path,
        kind=kind,
        weight_files=tuple(weights),
        pickled=not safe,
        base_ref=str(base_ref) if base_ref else None,
        config=config,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: cannot read JSON: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def resolve_device(device: str) -> str:
    """Map ``auto`` to ``cuda`` when a GPU is visible, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(info: CheckpointInfo, options: LoadOptions) -> Any:
    """Load the tokenizer of a checkpoint (an adapter falls back to its base)."""
    from transformers import AutoTokenizer

    source = info.path
    if info.kind == "lora" and not (info.path / "tokenizer_config.json").exists():
        source = checkpoint_path(info.base_ref or "")
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, trust_remote_code=options.trust_remote_code
        )
    except Exception as e:  # transformers raises many types here
        raise CheckpointError(f"cannot load the tokenizer of {info.ref!r}: {e}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(info: CheckpointInfo, options: LoadOptions) -> Any:
    """Load the model weights of a checkpoint, merging a LoRA adapter onto its base."""
    from transformers import AutoModelForCausalLM

    dtype = torch_dtype(choose_dtype(options.dtype, options.device))
    target = info.path if info.kind == "hf" else checkpoint_path(info.base_ref or "")
    if info.kind == "lora":
        inspect_checkpoint(
            info.base_ref or "",
            allow_pickle=options.allow_pickle,
            trust_remote_code=options.trust_remote_code,
        )
    try:
        with quiet_library_bars():
            model = AutoModelForCausalLM.from_pretrained(
                target,
                dtype=dtype,
                use_safetensors=None if options.allow_pickle else True,
                trust_remote_code=options.trust_remote_code,
            )
    except Exception as e:
        raise CheckpointError(f"cannot load the weights of {info.ref!r}: {e}") from e
    if info.kind == "lora":
        model = _merge_adapter(model, info)
    model.to(options.device)
    model.eval()
    return model


def _merge_adapter(model: Any, info: CheckpointInfo) -> Any:
    try:
        from peft import PeftModel
    except ImportError as e:
        # peft is a core dependency: a broken install, not a missing extra.
        raise MissingDependencyError("peft") from e
    try:
        merged = PeftModel.from_pretrained(model, info.path).merge_and_unload()
    except Exception as e:
        raise CheckpointError(f"cannot merge the adapter {info.ref!r}: {e}") from e
    return merged


def load_checkpoint(ref: str, options: LoadOptions | None = None) -> tuple[Any, Any]:
    """Vet and load a checkpoint; return ``(model, tokenizer)``."""
    options = options or LoadOptions()
    info = inspect_checkpoint(
        ref,
        allow_pickle=options.allow_pickle,
        trust_remote_code=options.trust_remote_code,
    )
    return load_model(info, options), load_tokenizer(info, options)


def fingerprint_checkpoint(ref: str) -> str:
    """Return a sha256 over a checkpoint's config and weight files.

    Two directories with the same config and the same weights share a
    fingerprint, wherever they lie; any changed weight byte changes it.
    """
    # Hashing reads bytes and runs nothing: vet the layout, not the trust.
    info = inspect_checkpoint(ref, allow_pickle=True, trust_remote_code=True)
    digest = hashlib.sha256()
    for meta in ("config.json", "adapter_config.json"):
        if (info.path / meta).is_file():
            digest.update((info.path / meta).read_bytes())
    for weights in info.weight_files:
        digest.update(weights.name.encode())
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()
