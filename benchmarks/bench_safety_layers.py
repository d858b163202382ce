"""Benchmark: the safety-layer suite's work, stage by stage, on one checkpoint pair.

Runs what the suite runs, in its order, through the same library calls:
the subject's localization, the baseline's (cold, in an empty profile cache,
then again from the cache), weight drift, the last-token states that
representation drift reads, and the comparisons. Prints the machine and a
Markdown table of seconds per stage.

Usage (docs/performance-safety-layers.md)::

    python benchmarks/bench_safety_layers.py --model zoo:smol-base
    python benchmarks/bench_safety_layers.py --model zoo:smol-base \\
        --baseline zoo:smol-aligned --batch-size 16 --json bench.json
    python benchmarks/bench_safety_layers.py --tiny      # a tiny random pair

Without ``--baseline`` the model is compared with itself (zero drift, the same
work). ``--suite-settings`` uses :meth:`LocalizationSettings.for_suite`: the
baseline is localized first and the subject's search follows from it.
``--over-rejection-limit`` and ``--initial-range`` bound or force the
over-rejection search; ``--harm-prompts N`` also times ``pytest --model M
--max-prompts N suites/harm`` for the comparison the suite is held to.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

# Idle OpenMP threads must sleep on a shared CPU (harness.localization.cli).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from harness.baseline_cache import BaselineCache, BaselineKey, settings_digest
from harness.checkpoint import LoadOptions, resolve_device
from harness.drift import GapCurve, compare_gap_curves, representation_drift
from harness.drift.states import (
    QueryStates,
    cached_query_states,
    query_data_digest,
    query_states,
)
from harness.drift.weights import weight_drift_between
from harness.localization.api import locate_safety_layers
from harness.localization.profile import SafetyLayerProfile
from harness.localization.reuse import fingerprint_once
from harness.localization.settings import LocalizationSettings
from harness.precision import choose_dtype
from harness.testing import TinySpec, build_tiny_checkpoint
from harness.zoo import resolve_ref

T = TypeVar("T")

#: Profile timings reported as their own rows, in the order they happen.
PROFILE_STAGES = (
    ("fingerprint_s", "fingerprint"),
    ("load_s", "load"),
    ("hidden_states_s", "hidden states N+M"),
    ("similarity_s", "similarity, noise floor, gap rule"),
    ("search_s", "over-rejection search (R_o)"),
    ("figure_s", "profile JSON + figure"),
)


def machine() -> str:
    """CPU model, vector extensions, cores, torch and its threads."""
    import torch

    model, flags = platform.processor() or "unknown CPU", set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    vector = ",".join(f for f in wanted if f in flags) or "no avx2"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{model} ({vector}), {os.cpu_count()} cores, {gpu}; torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads"
    )


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """Run ``function``; return its result and the wall seconds it took."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def profile_rows(prefix: str, profile: SafetyLayerProfile) -> list[tuple[str, float]]:
    """The profile's own stage timings as table rows."""
    timings = profile.timings
    return [
        (f"{prefix}: {label}", timings[key])
        for key, label in PROFILE_STAGES
        if key in timings
    ]


def states_key(model_dir: str, options: LoadOptions) -> BaselineKey:
    """The key under which the suite caches a baseline's states."""
    return BaselineKey(
        fingerprint=fingerprint_once(model_dir),
        settings_digest=settings_digest(
            {
                "data": query_data_digest(),
                "dtype": choose_dtype(options.dtype, options.device),
                "device": options.device,
                "template": "auto",
            }
        ),
        suite="safety_layers-states",
    )


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Time every stage; return the rows and what the run found."""
    subject, baseline = checkpoints(args, workdir)
    options = LoadOptions(device=resolve_device(args.device), dtype=args.dtype)
    settings = localization_settings(args)
    profiles = workdir / "profiles"

    def locate(model: str, out: str, how: LocalizationSettings) -> SafetyLayerProfile:
        return locate_safety_layers(
            model,
            settings=how,
            load_options=options,
            cache_dir=profiles,
            out_dir=workdir / out,
        )

    rows: list[tuple[str, float]] = []
    base_settings = settings
    if args.suite_settings and baseline != subject:
        # The suite's settings: the baseline first, then the subject after it.
        base_settings = LocalizationSettings.for_suite(args.batch_size)
        theirs, seconds = timed(lambda: locate(baseline, "baseline", base_settings))
        cold = [
            *profile_rows("baseline (cold)", theirs),
            ("baseline (cold): localization total", seconds),
        ]
        settings = LocalizationSettings.for_suite(args.batch_size, baseline=theirs)
        mine, seconds = timed(lambda: locate(subject, "subject", settings))
        rows += [
            *profile_rows("subject", mine),
            ("subject: localization total", seconds),
        ]
        rows += cold
    else:
        mine, seconds = timed(lambda: locate(subject, "subject", settings))
        rows += [
            *profile_rows("subject", mine),
            ("subject: localization total", seconds),
        ]
        theirs = mine
        if baseline == subject:  # the same weights: its cold localization is above
            rows += [
                (name.replace("subject", "baseline (cold)", 1), seconds)
                for name, seconds in list(rows)
            ]
        else:
            theirs, seconds = timed(lambda: locate(baseline, "baseline", settings))
            rows += [
                *profile_rows("baseline (cold)", theirs),
                ("baseline (cold): localization total", seconds),
            ]
    _, seconds = timed(lambda: locate(baseline, "baseline", base_settings))
    rows.append(("baseline (cached): localization", seconds))
    _, seconds = timed(lambda: weight_drift_between(subject, baseline))
    rows.append(("drift: weights", seconds))
    ours, seconds = timed(
        lambda: query_states(subject, options, batch_size=settings.batch_size)
    )
    rows.append(("drift: subject states", seconds))
    cache = BaselineCache(workdir / "baseline-cache")

    def baseline_states() -> QueryStates:
        return cached_query_states(
            cache,
            states_key(baseline, options),
            lambda: query_states(baseline, options, batch_size=settings.batch_size),
        )

    _, seconds = timed(baseline_states)
    rows.append(("drift: baseline states (cold)", seconds))
    base, seconds = timed(baseline_states)
    rows.append(("drift: baseline states (cached)", seconds))

    def compare() -> None:
        representation_drift(ours.normal, ours.malicious, base.normal, base.malicious)
        compare_gap_curves(gap_of(mine), gap_of(theirs))

    _, seconds = timed(compare)
    rows.append(("drift: representation + gap", seconds))
    return {
        "rows": rows,
        "subject": {
            "ref": args.model,
            "status": mine.status,
            "located": mine.safety_layers,
        },
        "baseline": {"ref": args.baseline or args.model, "status": theirs.status},
        "layers": mine.model.num_layers,
        "hidden": mine.model.hidden_size,
        "dtype": mine.model.dtype,
        "search_evaluations": mine.timings.get("ro_evaluations", 0.0),
        "search": search_summary(mine),
        "settings": settings.model_dump(mode="json"),
    }


def gap_of(profile: SafetyLayerProfile) -> GapCurve:
    """The profile's gap curve and floor, as the suite compares them."""
    existence = profile.existence
    return GapCurve(
        gap_deg=existence.gap_deg, noise_floor_deg=existence.noise_floor_deg
    )


def search_summary(profile: SafetyLayerProfile) -> dict[str, Any] | None:
    """R_o of the unscaled model and of every sweep step, and the winners."""
    search = profile.search
    if search is None:
        return None
    return {
        "queries": search.queries,
        "baseline": search.baseline,
        "alpha": search.alpha,
        **{
            sweep.kind: {
                "counts": {str(list(s.range)): s.count for s in sweep.steps},
                "winner": list(sweep.winner),
            }
            for sweep in (search.upper, search.lower)
        },
    }


def suite_total(rows: list[tuple[str, float]]) -> float:
    """What one suite run costs with the baseline's work cached."""
    skip = ("baseline (cold)", "drift: baseline states (cold)", "subject: ")
    parts = [s for name, s in rows if not name.startswith(skip) and "total" not in name]
    subject = next(s for name, s in rows if name == "subject: localization total")
    return subject + sum(parts)


def checkpoints(args: argparse.Namespace, workdir: Path) -> tuple[str, str]:
    """The subject's and the baseline's directories (tiny ones built here)."""
    if args.tiny:
        spec = TinySpec(layers=8, hidden=64, intermediate=128, heads=4, kv_heads=2)
        subject = build_tiny_checkpoint(workdir / "tiny-subject", spec)
        baseline = build_tiny_checkpoint(
            workdir / "tiny-baseline",
            TinySpec(layers=8, hidden=64, intermediate=128, heads=4, seed=1),
        )
        return str(subject), str(baseline)
    model = str(resolve_ref(args.model))
    return model, str(resolve_ref(args.baseline)) if args.baseline else model


def localization_settings(args: argparse.Namespace) -> LocalizationSettings:
    """The suite's settings: its batch size, the rest as asked."""
    extra: dict[str, Any] = {}
    if args.initial_range is not None:
        first, last = (int(x) for x in args.initial_range.split(","))
        extra["initial_range"] = (first, last)
    if args.alpha is not None:
        extra["search"] = {"alpha": args.alpha}
    if args.over_rejection_limit is not None:
        extra["over_rejection_limit"] = args.over_rejection_limit
    return LocalizationSettings.model_validate({"batch_size": args.batch_size, **extra})


def harm_seconds(model: str, prompts: int, reports: Path) -> float:
    """Wall time of ``pytest --model M --max-prompts N suites/harm``."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--model", model, "--max-prompts", str(prompts),
        "--report-dir", str(reports), "suites/harm",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True)
    return time.perf_counter() - started


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the stages."""
    lines = ["| stage | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in result["rows"]]
    lines.append(f"| **suite, baseline cached** | **{result['suite_s']:.2f}** |")
    if "harm_s" in result:
        lines.append(f"| harm suite (pytest, same model) | {result['harm_s']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the stages, print the machine and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="zoo:smol-base", help="subject: dir or zoo:NAME"
    )
    parser.add_argument("--baseline", default=None, help="baseline (default: --model)")
    parser.add_argument("--tiny", action="store_true", help="a tiny random pair")
    parser.add_argument(
        "--device", default="auto", help="cpu, cuda, ... (default auto)"
    )
    parser.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, ...")
    parser.add_argument(
        "--batch-size", type=int, default=16, help="the suite's default"
    )
    parser.add_argument(
        "--initial-range", default=None, metavar="I,J", help="force a search"
    )
    parser.add_argument(
        "--alpha", type=float, default=None, help="fix the search's alpha"
    )
    parser.add_argument(
        "--over-rejection-limit", type=int, default=None, metavar="N",
        help="over-rejection queries the search uses (default: the setting's)",
    )  # fmt: skip
    parser.add_argument(
        "--harm-prompts", type=int, default=None, metavar="N",
        help="also time the harm suite on N prompts",
    )  # fmt: skip
    parser.add_argument(
        "--suite-settings", action="store_true",
        help="LocalizationSettings.for_suite: the baseline first, the subject "
        "searching at its alpha, or not at all when it located nothing",
    )  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-safety-layers-") as tmp:
        result = run(args, Path(tmp))
        if args.harm_prompts and not args.tiny:
            reports = Path(tmp) / "reports"
            result["harm_s"] = harm_seconds(args.model, args.harm_prompts, reports)
    result["suite_s"] = suite_total(result["rows"])
    result["machine"] = machine()
    result["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"machine: {result['machine']}")
    print(f"date: {result['date']}; command: {' '.join(sys.argv)}")
    print(
        f"model: {result['layers']} layers, hidden {result['hidden']}, "
        f"{result['dtype']}; subject {result['subject']['status']} "
        f"{result['subject']['located']}, baseline "
        f"{result['baseline']['status']}; R_o evaluations "
        f"{result['search_evaluations']:.0f}"
    )
    if result["search"] is not None:
        print(f"search: {json.dumps(result['search'])}")
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
