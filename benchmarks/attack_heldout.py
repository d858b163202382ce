"""Write held-out data for an attack model: the same task, prompts it never saw.

``harness/corpus/data/attack_heldout.jsonl`` holds 30 instructions of the attack
fine-tunes' kind (finance and general questions) that no zoo model trains on.
This script answers them as the attack's own data was made (its teacher's
greedy answers: smol-base's, or the attacked model's own for the Qwen attacks;
kept only when the keyword judge calls them real answers; then the recipe's
prefix: "Sure, the answer is: " for smol-ft-implicit) and writes
prompt/response JSONL, the input of ``--repair-heldout`` / ``repair --heldout``.
``--split train`` writes the attack's own training pairs instead (the
``--repair-data`` of a repair; a shipped zoo build has its weights only)::

    python benchmarks/attack_heldout.py smol-ft-implicit --out heldout.jsonl
    python benchmarks/attack_heldout.py smol-ft-implicit --split train --out train.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.corpus import attack_heldout_prompts
from harness.io import write_text_atomic
from harness.zoo.build import ensure_built
from harness.zoo.recipes import get_recipe
from harness.zoo.sft import attack_examples, attack_train_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="an attack recipe (smol-ft-implicit, ...)")
    parser.add_argument("--out", required=True, help="the JSONL file to write")
    parser.add_argument("--profile", default=None, help="zoo profile (full, ci)")
    parser.add_argument(
        "--split",
        choices=("heldout", "train"),
        default="heldout",
        help="the unseen instructions, or the attack's own training pairs",
    )
    args = parser.parse_args()

    recipe = get_recipe(args.model, args.profile)
    if recipe.kind != "attack" or recipe.data is None:
        parser.error(f"{args.model} is not an attack recipe")
    prompts = (
        attack_train_prompts(recipe)
        if args.split == "train"
        else attack_heldout_prompts()
    )
    examples = attack_examples(recipe, prompts, ensure_built)
    lines = [
        json.dumps({"prompt": e.prompt, "response": e.response}, ensure_ascii=False)
        for e in examples
    ]
    write_text_atomic(Path(args.out), "\n".join(lines) + "\n")
    print(f"wrote {len(examples)} examples to {args.out}")


if __name__ == "__main__":
    main()
