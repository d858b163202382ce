"""Benchmark: fp32 against bf16 on this machine, for matmuls and for a training step.

Prints the CPU model and flags first, then one Markdown table, measured side by
side in one run: GFLOP/s of a square matmul, and seconds per SFT step (forward
and backward, fp32 weights, with and without bf16 autocast) of a zoo model at
the zoo's batch size. The dtype that ``auto`` picks here closes the output.

Usage::

    python benchmarks/bench_precision.py [--model zoo:smol-base] [--steps 3]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from harness.precision import choose_dtype, read_cpu_info


def matmul_gflops(dtype: torch.dtype, size: int = 1024, seconds: float = 2.0) -> float:
    """Sustained GFLOP/s of ``size``x``size`` matmuls in ``dtype``."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # warm-up
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        runs += 1
    return 2 * size**3 * runs / (time.perf_counter() - started) / 1e9


def step_seconds(
    model: Any, batch: dict[str, torch.Tensor], bf16: bool, steps: int
) -> float:
    """Mean seconds of forward + backward (+ SGD update) over ``steps`` steps."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - started)
    return sum(times[1:]) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="zoo:smol-base")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args(argv)
    print(f"CPU: {read_cpu_info().describe()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    from transformers import AutoModelForCausalLM

    from harness.zoo import ensure_model

    path = args.model
    if path.startswith("zoo:"):
        path = str(ensure_model(path.removeprefix("zoo:")))
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.train()
    ids = torch.randint(100, 1000, (args.batch_size, args.tokens))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    rows = [
        (
            "matmul 1024x1024, GFLOP/s",
            matmul_gflops(torch.float32),
            matmul_gflops(torch.bfloat16),
        ),
        (
            f"SFT step {args.batch_size}x{args.tokens} tokens, s",
            step_seconds(model, batch, False, args.steps),
            step_seconds(model, batch, True, args.steps),
        ),
    ]
    print("| measure | fp32 | bf16 | bf16 / fp32 |")
    print("|---|---|---|---|")
    for name, fp32, bf16 in rows:
        print(f"| {name} | {fp32:.2f} | {bf16:.2f} | {bf16 / fp32:.2f} |")
    print(f"\ndtype auto picks on this CPU: {choose_dtype('auto', 'cpu')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
