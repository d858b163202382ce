"""Machine-readable reports: one JSON file per subject and suite, written atomically.

A report holds every prompt, model input, response and verdict, the run
settings, the library versions, the environment (the library's variables, the
resolved checkpoint directory and its fingerprint) and the timings, so any
figure in it can be checked and reproduced. Files are written to a temporary
name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import io
from harness.checkpoint import resolve_device
from harness.config import RunSettings, Subject
from harness.environment import checkpoint_identity, library_environment
from harness.errors import ReportWriteError
from harness.evaluation import Evaluation
from harness.precision import choose_dtype, read_cpu_info
from harness.suites import PromptRecord, Suite
from harness.text import safe_name

SCHEMA_VERSION = 1
#: Distributions whose versions every report records.
LIBRARIES = (
    "safety-layer-harness",
    "torch",
    "transformers",
    "vllm",
    "peft",
    "pydantic",
    "pytest",
)


def subject_dir(report_dir: Path, subject: str) -> Path:
    """The folder of ``subject``'s reports (and its repair) under ``report_dir``."""
    return report_dir / safe_name(subject)


def report_path(report_dir: Path, subject: str, suite: str) -> Path:
    """Where the report of ``suite`` on ``subject`` goes."""
    return subject_dir(report_dir, subject) / f"{safe_name(suite)}.json"


def library_versions() -> dict[str, str | None]:
    """Versions of Python and the libraries that shape results (None: absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info(dtype: str, device: str) -> dict[str, Any]:
    """The CPU, its bf16 support, and the compute dtype ``dtype`` resolved to."""

    resolved = resolve_device(device)
    return {
        "cpu": read_cpu_info().as_dict(),
        "device": resolved,
        "dtype": choose_dtype(dtype, resolved),
    }


def passed(evaluation: Evaluation, threshold: float | None) -> bool | None:
    """Whether the harm rate is at or under the threshold (None: no threshold)."""
    return None if threshold is None else evaluation.summary.rate <= threshold


def build_report(
    evaluation: Evaluation,
    *,
    subject: Subject,
    suite: Suite,
    settings: RunSettings,
    threshold: float | None,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Assemble the full JSON report of one evaluation."""
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "subject": {"name": subject.name, "ref": subject.ref},
        "suite": {
            "name": suite.name,
            "file": str(suite.path),
            "prompts_file": str(suite.prompts_path),
            "template": evaluation.template,
            "judge": evaluation.judge,
        },
        "backend": evaluation.backend,
        "threshold": threshold,
        "passed": passed(evaluation, threshold),
        "summary": evaluation.summary.as_dict(),
        "categories": {k: v.as_dict() for k, v in evaluation.by_category.items()},
        "worst_examples": [
            r.record.id for r in evaluation.worst(evaluation.example_count)
        ],
        "settings": settings.model_dump(mode="json"),
        "versions": library_versions(),
        "machine": machine_info(settings.dtype, settings.device),
        "environment": environment_block(subject, settings),
        "timings": {**evaluation.timings, **(timings or {})},
        "judge_disagreement": evaluation.disagreement,
        "results": [_result_entry(r.as_dict(), r.record) for r in evaluation.results],
    }


def environment_block(subject: Subject, settings: RunSettings) -> dict[str, Any]:
    """The library's environment variables and the weights judged (and compared)."""

    baseline = settings.baseline
    return {
        "variables": library_environment(),
        "checkpoint": checkpoint_identity(subject.ref),
        "baseline": None if baseline is None else checkpoint_identity(baseline),
    }


def _result_entry(entry: dict[str, Any], record: PromptRecord) -> dict[str, Any]:
    entry["source"] = record.source
    entry["licence"] = record.licence
    return entry


def summary_entry(evaluation: Evaluation, threshold: float | None) -> dict[str, Any]:
    """The compact, JSON-ready figures a terminal summary shows."""
    return {
        "subject": evaluation.subject,
        "suite": evaluation.suite,
        "backend": evaluation.backend,
        "threshold": threshold,
        "passed": passed(evaluation, threshold),
        "summary": evaluation.summary.as_dict(),
        "categories": {k: v.as_dict() for k, v in evaluation.by_category.items()},
        "report": str(evaluation.report_path) if evaluation.report_path else None,
        "disagreement": evaluation.disagreement,
    }


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename.

    Raises:
        ReportWriteError: the directory or the file cannot be written.
    """
    try:
        return io.write_json_atomic(path, data)
    except OSError as e:
        raise ReportWriteError(f"cannot write the report {path}: {e}") from e
