"""Benchmark: what each training setting costs an aligned zoo model in refusal.

Builds variants of a ``full`` align recipe (smol-aligned by default, or
``--recipe smol-banded``; same data, same seed, one change each) with the zoo's
own builder into a scratch directory, measures each the way the zoo does, and
prints one Markdown table: train time, seconds per step, held-out harmful
refusal, edgy over-refusal, R_o and (unless ``--no-harm-suite``) the harm rate
on suites/harm.

Usage::

    python benchmarks/bench_zoo_variants.py --out /tmp/variants \\
        --variants recipe,lora16,bf16,len96 [--json variants.json]
    python benchmarks/bench_zoo_variants.py --recipe smol-banded \\
        --out /tmp/banded --variants benign2,steps160 --no-harm-suite

The recipe row rebuilds the shipped recipe, so every row of one run shares the
machine's conditions. Self-distilled answers come from the zoo cache's
``.distill`` folder when smol-base was built there before.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from harness.zoo.build import build_model, ensure_built
from harness.zoo.recipes import DataSpec, Recipe, TrainSpec, get_recipe

SUITE = Path(__file__).resolve().parents[1] / "suites" / "harm" / "suite.yaml"

VARIANTS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "lr2e-4": {"learning_rate": 2e-4, "group_by_length": True},
    "steps165": {"steps": 165, "learning_rate": 1.5e-4, "group_by_length": True},
    "grouped": {"group_by_length": True},
    "lora16": {"lora_rank": 16, "learning_rate": 5e-4},
    "bf16": {"precision": "bfloat16"},
    "len96": {"max_length": 96},
    "steps60": {"steps": 60},
    # planted-band calibration: raise the over-rejection rate R_o of smol-banded
    "steps160": {"steps": 160},
    "lr5e-4": {"learning_rate": 5e-4},
    "benign2": {"benign_repeat": 2},
}

_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainSpec)}
_DATA_FIELDS = {f.name for f in dataclasses.fields(DataSpec)}


def variant(recipe: Recipe, changes: dict[str, Any]) -> Recipe:
    """``recipe`` with its training and data specs changed as ``changes`` says.

    Each change goes to the spec that has a field of its name.
    """
    assert recipe.train is not None and recipe.data is not None
    unknown = set(changes) - _TRAIN_FIELDS - _DATA_FIELDS
    if unknown:
        raise ValueError(f"no TrainSpec or DataSpec field {sorted(unknown)}")
    train: TrainSpec = dataclasses.replace(
        recipe.train, **{k: v for k, v in changes.items() if k in _TRAIN_FIELDS}
    )
    data: DataSpec = dataclasses.replace(
        recipe.data, **{k: v for k, v in changes.items() if k in _DATA_FIELDS}
    )
    return dataclasses.replace(recipe, train=train, data=data)


def run(
    name: str, out: Path, base: Path, recipe_name: str, harm: bool
) -> dict[str, Any]:
    """Build and measure one variant of ``recipe_name``; return its row."""
    recipe = variant(get_recipe(recipe_name, "full"), VARIANTS[name])
    target = out / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    started = time.perf_counter()
    build_model(recipe, target, base, key=name)
    wall = time.perf_counter() - started
    manifest = json.loads((target / "zoo.json").read_text())
    rates = {k: v["refusal_rate"] for k, v in manifest["metrics"].items()}
    counts = {k: f"{v['refused']}/{v['n']}" for k, v in manifest["metrics"].items()}
    return {
        "harm": harm_suite(target) if harm else None,
        "variant": name,
        "changes": VARIANTS[name],
        "train_s": manifest["timings"]["train_s"],
        "s_per_step": manifest["training"]["seconds_per_step"],
        "wall_s": round(wall, 1),
        "rates": rates,
        "counts": counts,
    }


def harm_suite(model_dir: Path) -> dict[str, Any]:
    """Run the harm suite on ``model_dir`` as the plugin does (hf, auto dtype)."""
    from harness.backends import BackendSpec, create_backend
    from harness.checkpoint import LoadOptions
    from harness.evaluation import evaluate_suite
    from harness.judges import create_judge
    from harness.suites import load_suite

    suite = load_suite(SUITE)
    spec = BackendSpec(LoadOptions(device="cpu"), batch_size=16)
    backend = create_backend("hf", str(model_dir), spec)
    try:
        evaluation = evaluate_suite(
            suite, backend, create_judge(), subject=model_dir.name, max_new_tokens=64
        )
    finally:
        backend.close()
    summary = evaluation.summary
    worst = sorted(evaluation.by_category.items(), key=lambda kv: -kv[1].rate)[:3]
    return {
        "complied": summary.complied,
        "n": summary.n,
        "rate": summary.rate,
        "interval": list(summary.interval),
        "worst_categories": {k: f"{v.complied}/{v.n}" for k, v in worst},
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| variant | change | train (s) | s/step | harmful refusal | edgy over-refusal "
        "| R_o | suites/harm harm rate (95% CI) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{100 * r['rates'][k]:.1f}% ({r['counts'][k]})"
            for k in ("harmful", "edgy", "over_rejection")
        ]
        change = ", ".join(f"{k}={v}" for k, v in r["changes"].items()) or "as shipped"
        h = r["harm"]
        harm = (
            f"{100 * h['rate']:.1f}% ({h['complied']}/{h['n']}; "
            f"{100 * h['interval'][0]:.1f}–{100 * h['interval'][1]:.1f}%)"
            if h
            else "not run"
        )
        lines.append(
            f"| {r['variant']} | {change} | {r['train_s']:.0f} | {r['s_per_step']:.2f} "
            f"| {' | '.join(cells)} | {harm} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="scratch directory")
    parser.add_argument(
        "--variants",
        default="recipe,lora16,bf16,len96",
        help=f"comma-separated, from {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--recipe",
        default="smol-aligned",
        choices=("smol-aligned", "smol-banded", "smol-banded-late"),
        help="the align recipe the variants change (default smol-aligned)",
    )
    parser.add_argument(
        "--no-harm-suite",
        action="store_true",
        help="skip suites/harm on each variant (about 2 minutes each)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    from harness.precision import read_cpu_info

    print(f"CPU: {read_cpu_info().describe()}", flush=True)
    base = ensure_built("smol-base", "full")
    rows = []
    for name in names:
        rows.append(run(name, args.out, base, args.recipe, not args.no_harm_suite))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
    print()
    print(table(rows))
    for r in rows:
        if r["harm"]:
            worst = r["harm"]["worst_categories"]
            print(f"{r['variant']}: worst harm categories {worst}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
