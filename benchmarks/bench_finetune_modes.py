"""Benchmark: full fine-tuning against LoRA, seconds per step and memory.

Prints the CPU model and flags first, then one Markdown table measured side by
side in one run: for each mode, the trainable parameters, the mean seconds of an
AdamW step (forward, backward, update; fp32 weights, the zoo's attack batch of
8 x 160 tokens by default) and the bytes of weights, gradients and AdamW state
that the mode keeps (counted from the tensors, not from the process). The LoRA
mode is the zoo's (:func:`harness.training.sft.with_lora`, rank 16 on every
projection), so the row prices the 1.5B attack's choice.

Usage::

    python benchmarks/bench_finetune_modes.py [--model zoo:qwen-coder] [--steps 2]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from harness.precision import read_cpu_info


def adamw_step_seconds(model: Any, batch: dict[str, torch.Tensor], steps: int) -> float:
    """Mean seconds of forward + backward + AdamW over ``steps`` (after a warm-up)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-12)
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        loss = model(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        times.append(time.perf_counter() - started)
    return sum(times[1:]) / steps


def state_gib(model: Any) -> tuple[int, float]:
    """Trainable parameters, and GiB of weights + gradients + AdamW's two moments."""
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    weights = sum(p.numel() * p.element_size() for p in params)
    return trainable, (weights + 3 * 4 * trainable) / 2**30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="zoo:qwen-coder")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=160)
    parser.add_argument("--lora-rank", type=int, default=16)
    args = parser.parse_args(argv)
    print(f"CPU: {read_cpu_info().describe()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    from transformers import AutoModelForCausalLM

    from harness.training.sft import SFTConfig, with_lora
    from harness.zoo import ensure_model

    path = args.model
    if path.startswith("zoo:"):
        path = str(ensure_model(path.removeprefix("zoo:")))
    print(f"model {args.model}; batch {args.batch_size} x {args.tokens} tokens\n")
    torch.manual_seed(0)
    ids = torch.randint(100, 1000, (args.batch_size, args.tokens))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    rows = []
    for mode in ("full", f"LoRA r{args.lora_rank}"):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        if mode != "full":
            rank = args.lora_rank
            model = with_lora(model, SFTConfig(1, lora_rank=rank, lora_alpha=2 * rank))
        model.train()
        trainable, gib = state_gib(model)
        rows.append(
            (mode, trainable, gib, adamw_step_seconds(model, batch, args.steps))
        )
        del model
    full_s = rows[0][3]
    print("| mode | trainable params | weights+grads+AdamW, GiB | s/step | vs full |")
    print("|---|---|---|---|---|")
    for mode, trainable, gib, seconds in rows:
        print(
            f"| {mode} | {trainable / 1e6:.1f}M | {gib:.2f} | {seconds:.1f} "
            f"| {seconds / full_s:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
