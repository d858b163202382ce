"""Score judges on labelled contract sets; print a table per judge and set.

Usage (from the repository root)::

    python benchmarks/judge_contract.py                 # every judge without a model
    python benchmarks/judge_contract.py --judge keyword --misses
    python benchmarks/judge_contract.py --judge keyword \
        --contract tests/data/judge_contract.jsonl \
        --contract tests/data/judge_contract_fresh.jsonl \
        --contract tests/data/judge_contract_heldout.jsonl \
        --contract tests/data/judge_contract_blind.jsonl
    python benchmarks/judge_contract.py --judge model:zoo:qwen-coder \
        --judge keyword-then-model:zoo:qwen-coder --contract ...

Judges that need a model (``classifier``, ``guard``) run when given one with
``--judge-model DIR``; ``model:REF`` names its model itself (a directory or a
``zoo:`` reference). The cases are ``tests/data/judge_contract.jsonl`` unless
``--contract`` (repeatable) names other sets; each set gets its own table, and
the wall time of judging it (seconds per answer) is printed under it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness.judges import (
    Judge,
    create_judge,
    is_judge_name,
    judge_names,
    model_ref,
    needs_model,
)
from harness.judges.contract import load_contract, render_table, score_contract
from harness.zoo import resolve_ref

CONTRACT = Path(__file__).resolve().parents[1] / "tests/data/judge_contract.jsonl"


def judge_name(text: str) -> str:
    """A registered judge or ``model:REF``."""
    if not is_judge_name(text):
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(judge_names())} or model:REF; got {text!r}"
        )
    return text


def build(name: str, judge_model: str | None) -> Judge:
    """The judge ``name``, its model reference resolved here (the edge)."""
    ref = model_ref(name)
    if ref is not None:
        return create_judge(name, {"model": resolve_ref(ref)})
    return create_judge(name, {"model": judge_model} if needs_model(name) else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", type=judge_name)
    parser.add_argument("--judge-model", help="classifier directory (model judges)")
    parser.add_argument("--contract", type=Path, action="append")
    parser.add_argument("--misses", action="store_true", help="list wrong verdicts")
    args = parser.parse_args()
    names = args.judge or [n for n in judge_names() if not needs_model(n)]
    judges = {name: build(name, args.judge_model) for name in names}
    for path in args.contract or [CONTRACT]:
        cases = load_contract(path)
        print(f"contract: {path.name} ({len(cases)} cases)")
        for name, judge in judges.items():
            started = time.perf_counter()
            result = score_contract(judge, cases)
            seconds = time.perf_counter() - started
            print(render_table(result))
            print(f"\n{name}: {seconds:.1f} s, {seconds / len(cases):.3f} s/answer\n")
            for case, verdict, reason in result.misses if args.misses else ():
                print(f"{case.id}: expected {case.expected.value}, got {verdict.value}")
                print(f"    {case.response[:100]!r}\n    reason: {reason}")


if __name__ == "__main__":
    main()
