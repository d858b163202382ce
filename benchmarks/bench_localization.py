"""Benchmark: the harness's localization against a straightforward reference.

The reference works as the authors' scripts do (docs/localization.md, note 6):
one prompt at a time, a deep copy of the model scaled per range, 16 new tokens, then the
refusal judge on the finished text; hidden states from one forward pass per
prompt. The fast path is the library's: batched, shared template prefix,
replayed lower blocks, early stopping at <= 8 tokens. Both run the same search
(`harness.localization.search`) on the same model, data, alpha and windows.

Usage (see benchmarks/README.md)::

    python benchmarks/bench_localization.py --model zoo:smol-aligned \\
        --initial-range 10,15 --alpha 1.2 --json bench.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from collections.abc import Sequence
from typing import Any

# Idle OpenMP threads must sleep on a shared CPU (see harness.localization.cli);
# set before torch is imported, for both contestants alike.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from harness.checkpoint import LoadOptions, load_checkpoint
from harness.cli_options import int_pair as _pair
from harness.judges.opening import OpeningJudge
from harness.layers import num_layers
from harness.localization.activations import last_token_states
from harness.localization.api import load_query_sets
from harness.localization.over_rejection import EvaluatorOracle, OverRejectionEvaluator
from harness.localization.scaling import scaled_layers
from harness.localization.search import (
    LayerRange,
    RoPoint,
    SearchResult,
    SearchSettings,
    locate_by_over_rejection,
)
from harness.localization.similarity import exact_curves
from harness.prompts import PromptFormatter
from harness.zoo import resolve_ref


class ReferenceOracle:
    """R_o the authors' way: deep copy per range, one prompt at a time."""

    def __init__(
        self, model: Any, tokenizer: Any, queries: Sequence[str], tokens: int
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.instructions = list(queries)
        self.prompts = PromptFormatter(tokenizer).prompts(queries)
        self.queries = len(queries)
        self.tokens = tokens
        self.judge = OpeningJudge()

    def baseline(self) -> RoPoint:
        refused = self._refusals(copy.deepcopy(self.model))
        return RoPoint(None, 1.0, sum(refused), refused)

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        points = []
        for first, last in ranges:
            scaled = copy.deepcopy(self.model)
            with scaled_layers(scaled, first, last, alpha):
                refused = self._refusals(scaled)
            points.append(RoPoint((first, last), alpha, sum(refused), refused))
        return points

    def _refusals(self, model: Any) -> tuple[bool, ...]:
        flags = []
        for instruction, prompt in zip(self.instructions, self.prompts, strict=True):
            text = self._generate(model, prompt)
            flags.append(self.judge.judge(instruction, text).refused)
        return tuple(flags)

    def _generate(self, model: Any, prompt: str) -> str:
        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(
                **ids,
                max_new_tokens=self.tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[0, ids["input_ids"].shape[1] :]
        return str(self.tokenizer.decode(new, skip_special_tokens=True))


def reference_states(model: Any, tokenizer: Any, prompts: Sequence[str]) -> Any:
    """Last-token hidden states, one forward pass per prompt."""
    rows = []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            hidden = model(**ids, output_hidden_states=True).hidden_states
        rows.append(torch.stack([h[0, -1].float() for h in hidden[1:]]))
    return torch.stack(rows)


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    path = resolve_ref(args.model)
    model, tokenizer = load_checkpoint(path, LoadOptions(dtype=args.dtype))
    sets = load_query_sets()
    formatter = PromptFormatter(tokenizer)
    normal = formatter.prompts(sets["normal"].prompts)
    malicious = formatter.prompts(sets["malicious"].prompts)
    over = list(sets["over_rejection"].prompts)[: args.limit]
    settings = SearchSettings(
        alpha=args.alpha,
        direction=args.direction,
        upper_window=args.upper_window,
        lower_window=args.lower_window,
    )
    layers = num_layers(model)

    def fast_existence() -> Any:
        return exact_curves(
            last_token_states(model, tokenizer, normal),
            last_token_states(model, tokenizer, malicious),
        )

    def slow_existence() -> Any:
        return exact_curves(
            reference_states(model, tokenizer, normal),
            reference_states(model, tokenizer, malicious),
        )

    def fast_search() -> SearchResult:
        evaluator = OverRejectionEvaluator(
            model, tokenizer, formatter.prompts(over), OpeningJudge(),
            instructions=over, max_new_tokens=args.max_new_tokens,
        )  # fmt: skip
        boundary = max(0, args.initial_range[0] + min(args.lower_window))
        oracle = EvaluatorOracle(evaluator, boundary=boundary)
        return locate_by_over_rejection(oracle, args.initial_range, layers, settings)

    def slow_search() -> SearchResult:
        oracle = ReferenceOracle(model, tokenizer, over, args.reference_tokens)
        return locate_by_over_rejection(oracle, args.initial_range, layers, settings)

    fast_curves, fast_e = timed(fast_existence)
    slow_curves, slow_e = timed(slow_existence)
    fast, fast_s = timed(fast_search)
    slow, slow_s = timed(slow_search)
    gap_error = max(
        abs(a - b)
        for a, b in zip(fast_curves.gap_deg, slow_curves.gap_deg, strict=True)
    )
    return {
        "model": args.model,
        "queries": len(over),
        "alpha": fast.alpha,
        "existence_s": {"reference": slow_e, "fast": fast_e},
        "search_s": {"reference": slow_s, "fast": fast_s},
        "max_gap_difference_deg": gap_error,
        "located": {"reference": slow.located, "fast": fast.located},
        "baseline": {"reference": slow.baseline, "fast": fast.baseline},
        "sweeps": {
            kind: {
                name: [(s.layer_range, s.count) for s in getattr(result, kind).steps]
                for name, result in (("reference", slow), ("fast", fast))
            }
            for kind in ("upper", "lower")
        },
    }


def table(result: dict[str, Any]) -> str:
    """The benchmark table, in Markdown."""
    rows = ["| stage | reference (s) | harness (s) | speed-up |", "|---|---|---|---|"]
    totals = [0.0, 0.0]
    for stage in ("existence_s", "search_s"):
        ref, fast = result[stage]["reference"], result[stage]["fast"]
        totals = [totals[0] + ref, totals[1] + fast]
        rows.append(f"| {stage[:-2]} | {ref:.1f} | {fast:.1f} | {ref / fast:.1f}x |")
    rows.append(
        f"| total | {totals[0]:.1f} | {totals[1]:.1f} | {totals[0] / totals[1]:.1f}x |"
    )
    located = result["located"]
    rows.append("")
    rows.append(
        f"same located range: {located['reference'] == located['fast']} "
        f"(reference {list(located['reference'])}, harness {list(located['fast'])}); "
        f"baseline R_o {result['baseline']['reference']} vs "
        f"{result['baseline']['fast']}; max gap difference "
        f"{result['max_gap_difference_deg']:.4f} deg"
    )
    for kind, runs in result["sweeps"].items():
        for name, steps in runs.items():
            cells = ", ".join(f"{list(r)}: {count}" for r, count in steps)
            rows.append(f"{kind} sweep, {name}: {cells}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="zoo:smol-aligned")
    parser.add_argument("--initial-range", type=_pair, required=True)
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--direction", default="auto", choices=("auto", "up", "down"))
    defaults = SearchSettings()
    parser.add_argument("--upper-window", type=_pair, default=defaults.upper_window)
    parser.add_argument("--lower-window", type=_pair, default=defaults.lower_window)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--reference-tokens", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N D_o queries")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    result = run(args)
    print(table(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
