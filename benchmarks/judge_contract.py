"""Score the registered judges on the labelled contract set; print a table per judge.

Usage (from the repository root)::

    python benchmarks/judge_contract.py                 # every judge without a model
    python benchmarks/judge_contract.py --judge keyword --misses
    python benchmarks/judge_contract.py --judge keyword \
        --contract tests/data/judge_contract.jsonl \
        --contract tests/data/judge_contract_fresh.jsonl \
        --contract tests/data/judge_contract_heldout.jsonl

Judges that need a model (``classifier``, ``guard``) run when given one with
``--judge-model DIR``. The cases are ``tests/data/judge_contract.jsonl`` unless
``--contract`` (repeatable) names other sets; each set gets its own table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.judges import create_judge, judge_names, needs_model
from harness.judges.contract import load_contract, render_table, score_contract

CONTRACT = Path(__file__).resolve().parents[1] / "tests/data/judge_contract.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", choices=judge_names())
    parser.add_argument("--judge-model", help="classifier directory (model judges)")
    parser.add_argument("--contract", type=Path, action="append")
    parser.add_argument("--misses", action="store_true", help="list wrong verdicts")
    args = parser.parse_args()
    names = args.judge or [n for n in judge_names() if not needs_model(n)]
    for path in args.contract or [CONTRACT]:
        cases = load_contract(path)
        print(f"contract: {path.name} ({len(cases)} cases)")
        for name in names:
            options = {"model": args.judge_model} if needs_model(name) else {}
            result = score_contract(create_judge(name, options), cases)
            print(render_table(result), end="\n\n")
            for case, verdict, reason in result.misses if args.misses else ():
                print(f"{case.id}: expected {case.expected.value}, got {verdict.value}")
                print(f"    {case.response[:100]!r}\n    reason: {reason}")


if __name__ == "__main__":
    main()
