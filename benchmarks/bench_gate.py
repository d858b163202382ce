"""Benchmark: what generating a suite costs on each path, side by side in one run.

For each model, every path generates the same prompts of ``suites/harm``
(greedy, ``--max-new-tokens``, the keyword judge) through the project's own
backends: a naive loop (one prompt at a time), ``hf`` at batch 16, ``hf`` with
its automatic batch (the default), a batch sweep, and ``vllm`` in its own venv
(two starts: the second reuses the compile cache). Each row gives load and
generation seconds, prompts/s, tokens/s, the share of the compute floor
(2 x parameters x new tokens at the matmul rate measured in the same run) and
how many texts and verdicts differ from the default path's. Then the default
path's cost over growing prompt counts. The machine (CPU model and flags,
cores, threads, load) is printed first.

Usage::

    python benchmarks/bench_gate.py --model zoo:smol-aligned \\
        [--model zoo:qwen-coder-1.5b] [--prompts 230] [--naive 16] \\
        [--sweep 32,128] [--growth 100,200,400,800] \\
        [--vllm-python .venv-vllm/bin/python] [--device cpu] [--dtype auto]

``--vllm-python`` is the interpreter of the venv ``scripts/vllm-env.sh``
builds (default: ``.venv-vllm/bin/python`` when it exists, else no vLLM row).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import (
    BackendSpec,
    GenerationBackend,
    create_backend,
    generation_flop,
    parameter_count,
)
from harness.checkpoint import LoadOptions, resolve_device
from harness.evaluation import Evaluation, evaluate_suite
from harness.judges import create_judge
from harness.precision import choose_dtype, read_cpu_info
from harness.suites import Suite, load_suite
from harness.threads import configure_threads
from harness.zoo import resolve_ref

HARM = Path(__file__).resolve().parent.parent / "suites" / "harm" / "suite.yaml"
DEFAULT_VLLM_PYTHON = Path(__file__).resolve().parent.parent / ".venv-vllm/bin/python"


@dataclass
class Row:
    """One path's measurement on one model."""

    path: str
    batch: str
    prompts: int
    ids: list[str]
    load_s: float
    generate_s: float
    texts: list[str]
    verdicts: list[str]

    def rate(self) -> float:
        return self.prompts / self.generate_s


def matmul_flops(dtype_name: str, device: str, size: int = 2048) -> float:
    """Sustained FLOP/s of square matmuls in ``dtype_name`` on ``device``."""
    import torch

    from harness.precision import torch_dtype

    dtype = torch_dtype(dtype_name)
    size = 8192 if device.startswith("cuda") else size
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    a @ b  # warm-up
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0 or runs < 3:
        a @ b
        runs += 1
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * size**3 * runs / (time.perf_counter() - started)


def measure(label: str, batch: str, opened: Any, suite: Suite, load_s: float) -> Row:
    """Generate and judge ``suite`` on an open backend, then close it."""
    judge = create_judge("keyword", {})
    try:
        evaluation = evaluate_suite(
            suite, opened, judge, subject=label, max_new_tokens=ARGS.max_new_tokens
        )
    finally:
        opened.close()
    return row_of(label, batch, evaluation, load_s)


def row_of(label: str, batch: str, evaluation: Evaluation, load_s: float) -> Row:
    results = evaluation.results
    return Row(
        path=label,
        batch=batch,
        prompts=len(results),
        ids=[r.record.id for r in results],
        load_s=load_s,
        generate_s=evaluation.timings["generate_s"],
        texts=[r.response for r in results],
        verdicts=[r.judgement.verdict.value for r in results],
    )


def hf_row(label: str, model_dir: str, suite: Suite, batch: int | str) -> Row:
    started = time.perf_counter()
    spec = BackendSpec(options=load_options(), batch_size=batch)  # type: ignore[arg-type]
    opened: GenerationBackend = create_backend("hf", model_dir, spec)
    load_s = time.perf_counter() - started
    row = measure(label, str(batch), opened, suite, load_s)
    used = getattr(opened, "last_batch_size", None)
    if batch == "auto" and used is not None:
        row.batch = f"auto ({used})"
    return row


def vllm_rows(model_dir: str, suite: Suite) -> list[Row]:
    """Two vLLM starts in its own venv: cold (or warm) cache, then warm."""
    python = Path(ARGS.vllm_python) if ARGS.vllm_python else DEFAULT_VLLM_PYTHON
    if not python.exists():
        print(f"(no vLLM row: {python} does not exist; see scripts/vllm-env.sh)")
        return []
    rows: list[Row] = []
    for start in ("vllm (1st start)", "vllm (2nd start)"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "row.json"
            command = [
                str(python),
                __file__,
                "--vllm-worker",
                model_dir,
                "--out",
                str(out),
                "--prompts",
                str(len(suite.prompts)),
                "--max-new-tokens",
                str(ARGS.max_new_tokens),
                "--dtype",
                ARGS.dtype,
                "--device",
                ARGS.device,
            ]
            env = os.environ | {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"(vLLM failed: {done.stderr.strip().splitlines()[-3:]})")
                return rows
            rows.append(Row(**json.loads(out.read_text())))
            rows[-1].path = start
    return rows


def vllm_worker(model_dir: str, out: Path, suite: Suite) -> None:
    """Inside the vLLM venv: load, generate, write the row as JSON."""
    started = time.perf_counter()
    spec = BackendSpec(options=load_options())
    opened = create_backend("vllm", model_dir, spec)
    load_s = time.perf_counter() - started
    row = measure("vllm", "engine", opened, suite, load_s)
    out.write_text(json.dumps(dataclasses.asdict(row)))


def load_options() -> LoadOptions:
    return LoadOptions(device=resolve_device(ARGS.device), dtype=ARGS.dtype)


def with_prompts(suite: Suite, count: int) -> Suite:
    """The suite's prompts cycled or cut to ``count`` (ids made unique)."""
    base = suite.prompts
    prompts = tuple(
        base[i % len(base)].model_copy(update={"id": f"{base[i % len(base)].id}-{i}"})
        for i in range(count)
    )
    return dataclasses.replace(suite, prompts=prompts)


def differ(row: Row, reference: Row) -> tuple[int, int, int]:
    """Texts and verdicts of ``row`` that differ from ``reference``'s, and of
    how many prompts (those both generated, matched by prompt id)."""
    texts = dict(zip(reference.ids, reference.texts, strict=True))
    verdicts = dict(zip(reference.ids, reference.verdicts, strict=True))
    shared = [i for i, id_ in enumerate(row.ids) if id_ in texts]
    text_diff = sum(row.texts[i] != texts[row.ids[i]] for i in shared)
    verdict_diff = sum(row.verdicts[i] != verdicts[row.ids[i]] for i in shared)
    return text_diff, verdict_diff, len(shared)


def print_table(rows: list[Row], reference: Row, flop_s: float, params: int) -> None:
    """One line per path; × is against the first row (the naive loop)."""
    print(
        f"| path | batch | prompts | load s | generate s | prompts/s | tokens/s "
        f"| × {rows[0].path} | floor share | texts ≠ default | verdicts ≠ default |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        tokens = row.prompts * ARGS.max_new_tokens
        floor_s = generation_flop(params, row.prompts, ARGS.max_new_tokens) / flop_s
        texts, verdicts, shared = differ(row, reference)
        print(
            f"| {row.path} | {row.batch} | {row.prompts} | {row.load_s:.1f} "
            f"| {row.generate_s:.1f} | {row.rate():.2f} "
            f"| {tokens / row.generate_s:.0f} "
            f"| {row.rate() / rows[0].rate():.1f} | {floor_s / row.generate_s:.1%} "
            f"| {texts}/{shared} | {verdicts}/{shared} |"
        )


def bench_model(ref: str, suite: Suite, flop_s: float) -> None:
    """Every path on one model, then the default path's cost growth."""
    model_dir = str(resolve_ref(ref))
    params = parameter_count(model_dir) or 0
    print(
        f"\n## {ref}: {params / 1e6:.0f} M parameters, {len(suite.prompts)} "
        f"prompts, {ARGS.max_new_tokens} new tokens\n"
    )
    rows: list[Row] = []
    if ARGS.naive:
        naive = suite.subsample(ARGS.naive, ARGS.seed)
        rows.append(hf_row("naive loop", model_dir, naive, 1))
    rows.append(hf_row("hf (batch 16)", model_dir, suite, 16))
    default = hf_row("hf default", model_dir, suite, "auto")
    rows.append(default)
    rows += [hf_row("hf", model_dir, suite, size) for size in ARGS.sweep]
    rows += vllm_rows(model_dir, suite)
    print_table(rows, default, flop_s, params)
    if ARGS.growth:
        print("\ncost growth, default path (hf auto):\n")
        print("| prompts | generate s | prompts/s | s per 100 prompts |")
        print("|---|---|---|---|")
        for count in ARGS.growth:
            row = hf_row("hf default", model_dir, with_prompts(suite, count), "auto")
            print(
                f"| {count} | {row.generate_s:.1f} | {row.rate():.2f} "
                f"| {100 * row.generate_s / count:.1f} |"
            )


def print_machine(device: str, dtype: str, flop_s: float) -> None:
    import torch

    print(f"# bench_gate {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: python {' '.join(sys.argv)}")
    print(f"cpu: {read_cpu_info().describe()}")
    print(
        f"threads: {configure_threads().describe()}; "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    if device.startswith("cuda"):
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    print(
        f"torch {torch.__version__}; device {device}; dtype {dtype}; "
        f"matmul {flop_s / 1e12:.2f} TFLOP/s ({dtype}, square, same run)"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--prompts", type=int, default=230)
    parser.add_argument("--naive", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--sweep", type=_ints, default=[32, 128])
    parser.add_argument("--growth", type=_ints, default=[100, 200, 400, 800])
    parser.add_argument("--vllm-python", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vllm-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    configure_threads()
    suite = load_suite(HARM)
    suite = (
        with_prompts(suite, ARGS.prompts)
        if ARGS.prompts > len(suite.prompts)
        else suite.subsample(ARGS.prompts, ARGS.seed)
    )
    if ARGS.vllm_worker:
        vllm_worker(ARGS.vllm_worker, ARGS.out, suite)
        return
    device = resolve_device(ARGS.device)
    dtype = choose_dtype(ARGS.dtype, device)
    flop_s = matmul_flops(dtype, device)
    print_machine(device, dtype, flop_s)
    for ref in ARGS.model or ["zoo:smol-aligned"]:
        bench_model(ref, suite, flop_s)


ARGS = parse(sys.argv[1:] if __name__ == "__main__" else [])

if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("SAFETY_HARNESS_PROGRESS", "0")
    main()
