"""Publish a repair: the kept candidate with its manifest, renamed into place.

The candidate is written in a scratch directory beside the output, its
manifest added, and the directory renamed onto the output path in one step,
so a reader sees either nothing or a complete checkpoint. Without a passing
candidate, ``<out>.failed.json`` holds the same record.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from harness.io import write_json_atomic, write_text_atomic
from harness.repair.context import Context
from harness.repair.records import CandidateVerdict, RepairResult, Utility
from harness.repair.report import repair_html

MANIFEST = "repair_manifest.json"
#: The repair's HTML report, beside the manifest in the kept directory.
REPORT = "repair_report.html"
SCHEMA_VERSION = 1


def failure_path(out: Path) -> Path:
    """Where a repair that kept nothing writes its record."""
    return out.with_name(out.name + ".failed.json")


def failure_report_path(out: Path) -> Path:
    """Where a repair that kept nothing writes its HTML report."""
    return out.with_name(out.name + ".failed.html")


def publish(
    result: RepairResult,
    ctx: Context,
    out: Path,
    inputs: tuple[Path, Path],
    prints: list[str],
) -> Path:
    """Write the manifest and move the kept candidate to ``out`` (atomically)."""
    manifest = build_manifest(result, ctx, inputs, prints)
    kept = result.kept
    if kept is None or kept.path is None:
        result.report = failure_report_path(out)
        write_text_atomic(result.report, repair_html(result))
        return write_json_atomic(failure_path(out), manifest)
    write_json_atomic(kept.path / MANIFEST, manifest)
    os.replace(kept.path, out)  # same filesystem: the scratch lies beside out
    kept.path = out
    result.output = out
    result.report = out / REPORT
    write_text_atomic(result.report, repair_html(result))
    return out


def build_manifest(
    result: RepairResult, ctx: Context, inputs: tuple[Path, Path], prints: list[str]
) -> dict[str, Any]:
    """Everything needed to know what was done and to do it again."""
    kept = result.kept
    params = kept.params if kept else {}
    data = ctx.data
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "repaired": kept is not None,
        "rung": kept.rung if kept else None,
        "params": params,
        "lambda": params.get("lambda"),
        "band": params.get("band", list(result.band) if result.band else None),
        "sparsity": params.get("sparsity"),
        "search_band": list(result.band) if result.band else None,
        "band_source": result.band_source,
        "inputs": {
            "failing": {"path": str(inputs[0]), "fingerprint": prints[0]},
            "baseline": {"path": str(inputs[1]), "fingerprint": prints[1]},
        },
        "data": None
        if data is None
        else {
            "path": str(data.path),
            "sha256": data.sha256,
            "train": len(data.train),
            "heldout": len(data.heldout),
            "heldout_path": None
            if data.heldout_path is None
            else str(data.heldout_path),
            "heldout_sha256": data.heldout_sha256,
        },
        "hyperparameters": ctx.settings.as_dict(),
        "utility_margin": ctx.margin,
        "before": _figures(result.before, result.before_utility),
        "after": _figures(kept.verdict, kept.utility)
        if kept and kept.verdict
        else None,
        "rungs": [r.as_dict() for r in result.rungs],
        "notes": result.notes,
        "drift": [round(d, 6) for d in ctx.drift],
    }


def _figures(verdict: CandidateVerdict, utility: Utility | None) -> dict[str, Any]:
    return {
        "passed": verdict.passed,
        "metrics": verdict.metrics,
        "summary": verdict.summary,
        "utility": None if utility is None else utility.as_dict(),
    }
