"""A real (tiny-model) run of every suite, its HTML report and a screenshot.

Usage::

    python benchmarks/tiny_report.py --out tiny-report.png

Builds two tiny random 4-layer checkpoints (``harness.testing.tiny``): ``base``
and ``noisy``, a copy whose layer 2 is overwritten with noise. Runs
``pytest suites/ --model noisy --model base --baseline base`` on them with the
hf backend (a small prompt sample), then renders ``reports/report.html`` with
headless Chromium (``benchmarks/screenshot_report.py``: the page must not be
wider than the window). Random models answer
noise, so the prompt suites fail as degenerate; the safety-layer suite passes
``base`` and fails ``noisy`` on its drift. Nothing here is a zoo figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from screenshot_report import screenshot  # noqa: E402

from harness.testing.tiny import TinySpec, build_tiny_checkpoint  # noqa: E402


def build(work: Path) -> None:
    """Write ``base`` and ``noisy`` (layer 2 rewritten) under ``work``."""
    import torch
    from safetensors.torch import load_file, save_file

    base = build_tiny_checkpoint(work / "base", TinySpec(layers=4))
    shutil.copytree(base, work / "noisy")
    file = work / "noisy" / "model.safetensors"
    weights = load_file(str(file))
    noise = torch.Generator().manual_seed(1)
    for key, value in weights.items():
        if ".layers.2." in key and key.endswith("proj.weight"):
            weights[key] = value + 2 * value.std() * torch.randn(
                value.shape, generator=noise
            )
    save_file(weights, str(file), metadata={"format": "pt"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, help="pixels (default: the page)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="harness-tiny-report-"))
    build(work)
    env = {
        **os.environ,
        "SAFETY_HARNESS_BASELINE_DIR": str(work / "baseline-cache"),
        "SAFETY_HARNESS_PROFILE_DIR": str(work / "profiles"),
    }
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
        f"--rootdir={work}", str(ROOT / "suites"),
        "--model", "noisy", "--model", "base", "--baseline", "base",
        "--device", "cpu", "--max-prompts", "24", "--max-new-tokens", "16",
        "--report-dir", str(work / "reports"),
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=work, env=env, check=False)
    html = work / "reports" / "report.html"
    width = screenshot(html, args.out, width=args.width, height=args.height)
    print(
        f"pytest exit code {finished.returncode}; {html} -> {args.out}: "
        f"page width {width} px at window width {args.width} px"
    )
    return 0 if width <= args.width else 1


if __name__ == "__main__":
    sys.exit(main())
