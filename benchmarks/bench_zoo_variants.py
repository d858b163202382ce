"""Benchmark: what each cheaper training setting costs smol-aligned in refusal.

Builds variants of the ``full`` smol-aligned recipe (same data, same seed, one
change each) with the zoo's own builder into a scratch directory, measures each
the way the zoo does, and prints one Markdown table: train time, seconds per
step, held-out harmful refusal, edgy over-refusal and R_o.

Usage::

    python benchmarks/bench_zoo_variants.py --out /tmp/variants \\
        --variants recipe,lora16,bf16,len96 [--json variants.json]

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
from harness.zoo.recipes import Recipe, TrainSpec, get_recipe

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
}


def variant(recipe: Recipe, changes: dict[str, Any]) -> Recipe:
    """``recipe`` with its training spec changed as ``changes`` says."""
    assert recipe.train is not None
    train: TrainSpec = dataclasses.replace(recipe.train, **changes)
    return dataclasses.replace(recipe, train=train)


def run(name: str, out: Path, base: Path) -> dict[str, Any]:
    """Build and measure one variant; return its row."""
    recipe = variant(get_recipe("smol-aligned", "full"), VARIANTS[name])
    target = out / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    started = time.perf_counter()
    build_model(recipe, target, base, key=name)
    wall = time.perf_counter() - started
    manifest = json.loads((target / "zoo.json").read_text())
    rates = {k: v["refusal_rate"] for k, v in manifest["metrics"].items()}
    counts = {k: f"{v['refused']}/{v['n']}" for k, v in manifest["metrics"].items()}
    harm = harm_suite(target)
    return {
        "harm": harm,
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
        rows.append(run(name, args.out, base))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
    print()
    print(table(rows))
    for r in rows:
        print(f"{r['variant']}: worst harm categories {r['harm']['worst_categories']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
