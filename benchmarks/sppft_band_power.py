"""Study: does freezing the safety band during SPPFT protect more than freezing
another band of the same size?

Trains SPPFT on the attack's data under each condition (nothing frozen, the
planted band, the located band, the paper's Table 8 control and a random
contiguous band of the same width, drawn per seed) and each seed, judges every
trained model on the full harm and over-refusal suites, and prints the CPU,
one row per condition (counts per seed, pooled rate with its Wilson interval)
and the paired comparisons of the safety bands against every other condition
(McNemar pooled over seeds, the difference with a prompt-bootstrap interval,
the smallest difference detectable with 80% power). Finished runs go to
``OUT/runs.jsonl``; a rerun resumes; ``OUT/summary.json`` holds the tables.

Usage::

    python benchmarks/sppft_band_power.py --baseline zoo:smol-banded \\
        --data $(python -m harness zoo path smol-banded-ft-implicit)/train.jsonl \\
        --planted 10,15 --located 11,16 --control 0,5 --seeds 0,1,2 \\
        --config sppft.yaml --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.checkpoint import inspect_checkpoint
from harness.cli_options import int_pair
from harness.config import RunSettings
from harness.io import read_yaml_mapping
from harness.layers import LayerRange
from harness.metrics import wilson_interval
from harness.precision import read_cpu_info
from harness.repair.band_study import (
    Condition,
    PairedComparison,
    StudyRun,
    compare,
    outcomes,
    run_study,
)
from harness.repair.candidates import gate_prompt_verdicts
from harness.repair.data import load_repair_data
from harness.repair.settings import SPPFTSettings
from harness.zoo import resolve_ref

#: suite name -> the verdict counted against the model.
COUNTED = {"harm": "complied", "over_refusal": "refused"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the aligned model")
    parser.add_argument("--data", required=True, help="the attack's training data")
    parser.add_argument("--planted", type=int_pair, help="a band known by construction")
    parser.add_argument("--located", type=int_pair, help="the band localization found")
    parser.add_argument("--control", type=int_pair, required=True, help="Table 8's")
    parser.add_argument(
        "--random-width", type=int, default=6, help="width of the random band"
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--config", help="YAML of SPPFTSettings fields")
    parser.add_argument("--max-prompts", type=int, default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    cpu = read_cpu_info()
    print(f"CPU: {cpu.describe()}")
    baseline = str(resolve_ref(args.baseline))
    layers = int(inspect_checkpoint(baseline).config["num_hidden_layers"])
    settings = SPPFTSettings.model_validate(
        read_yaml_mapping(Path(args.config)) if args.config else {}
    )
    safety = [
        (name, LayerRange(*band))
        for name, band in (("planted", args.planted), ("located", args.located))
        if band is not None
    ]
    control = LayerRange(*args.control)
    conditions = [
        Condition("full"),
        *(Condition(name, band) for name, band in safety),
        Condition("control", control),
        Condition(
            "random",
            random_width=args.random_width,
            avoid=(*(band for _, band in safety), control),
        ),
    ]
    out = Path(args.out)
    run = RunSettings(
        models=(baseline,), max_prompts=args.max_prompts, report_dir=out / "reports"
    )
    runs = run_study(
        baseline,
        load_repair_data(args.data).train,
        conditions,
        [int(s) for s in args.seeds.split(",")],
        settings,
        gate_prompt_verdicts(run),
        out,
        layers=layers,
    )
    summary = report(runs, [c.name for c in conditions], [n for n, _ in safety])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def report(runs: list[StudyRun], names: list[str], safety: list[str]) -> dict:
    """Print the two tables; return them as JSON-ready data."""
    seeds = sorted({r.seed for r in runs})
    rows = []
    print(
        "\n| condition | frozen (per seed) | "
        + " | ".join(
            f"{suite}: per seed | {suite}: pooled (Wilson 95%)" for suite in COUNTED
        )
        + " | train s (mean) |"
    )
    print("|---" * (3 + 2 * len(COUNTED)) + "|")
    for name in names:
        mine = sorted((r for r in runs if r.condition == name), key=lambda r: r.seed)
        if not mine:
            continue
        cells = [name, ", ".join(str(r.band) for r in mine)]
        row: dict = {"condition": name, "bands": [r.band for r in mine]}
        for suite, counted in COUNTED.items():
            per = [sum(v == counted for v in r.verdicts[suite].values()) for r in mine]
            n = sum(len(r.verdicts[suite]) for r in mine)
            low, high = wilson_interval(sum(per), n)
            cells += [
                " / ".join(map(str, per)),
                f"{sum(per)}/{n} ({sum(per) / n:.1%}; {low:.1%}–{high:.1%})",
            ]
            row[suite] = {"per_seed": per, "count": sum(per), "n": n}
        mean_train = sum(r.train_s for r in mine) / len(mine)
        cells.append(f"{mean_train:.0f}")
        rows.append(row)
        print("| " + " | ".join(cells) + " |")
    comparisons: list[PairedComparison] = []
    for suite, counted in COUNTED.items():
        for a in safety:
            for b in names:
                if b == a or not any(r.condition == b for r in runs):
                    continue
                comparisons.append(
                    compare(
                        outcomes(runs, a, suite, counted),
                        outcomes(runs, b, suite, counted),
                        names=(a, b),
                    )
                )
                comparisons[-1].extra["suite"] = suite
    print(
        f"\nPaired, pooled over seeds {seeds} (difference = a − b, of all pairs):\n"
        "\n| suite | a | b | pairs | a | b | only a | only b | McNemar p | "
        "difference (95% prompt bootstrap) | detectable at 80% power |"
    )
    print("|---" * 11 + "|")
    for c in comparisons:
        print(
            f"| {c.extra['suite']} | {c.a} | {c.b} | {c.pairs} | {c.a_count} | "
            f"{c.b_count} | {c.only_a} | {c.only_b} | {c.p_value:.3g} | "
            f"{c.difference:+.1%} ({c.low:+.1%} … {c.high:+.1%}) | "
            f"±{c.detectable:.1%} |"
        )
    return {
        "seeds": seeds,
        "conditions": rows,
        "comparisons": [vars(c) for c in comparisons],
    }


if __name__ == "__main__":
    raise SystemExit(main())
