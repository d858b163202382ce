#!/usr/bin/env bash
# Generation speed on a GPU: benchmarks/bench_gate.py on random weights of a
# real model's shape, built here (no download, no hub): Qwen2.5-1.5B by
# default, or a small shape that tests the script on a CPU in a minute.
#
#   benchmarks/gpu_check.sh [qwen2.5-1.5b|small] [more bench_gate.py options]
#
# Prints bench_gate.py's table (hf at batch 16, the hf default's automatic
# batch, a batch sweep, cost growth) and keeps it in $OUT/bench_gate.md when
# $OUT is set. Python wheels the machine lacks may be put in $WHEELS (default
# .gpu-wheels); they are installed first, offline and without dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=${1:-qwen2.5-1.5b}
shift || true
WHEELS=${WHEELS:-.gpu-wheels}
if [ -d "$WHEELS" ]; then
    python -m pip install --quiet --no-deps --no-index --find-links "$WHEELS" \
        pydantic pydantic-core annotated-types typing-inspection typing-extensions \
        platformdirs rich markdown-it-py mdurl pygments gguf dill multiprocess \
        datasets || true
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 SAFETY_HARNESS_PROGRESS=0
WORK=${OUT:-$(mktemp -d)}
MODEL="$(mktemp -d)/$SHAPE"

python - "$SHAPE" "$MODEL" <<'PY'
import sys

import torch

from harness.testing import TinySpec, build_tiny_checkpoint

SHAPES = {
    "qwen2.5-1.5b": TinySpec(
        layers=28, hidden=1536, heads=12, kv_heads=2, intermediate=8960,
        vocab=151936, architecture="qwen2",
    ),
    "small": TinySpec(
        layers=4, hidden=256, heads=4, kv_heads=2, intermediate=512,
        vocab=151936, architecture="qwen2",
    ),
}
torch.set_default_dtype(torch.bfloat16)  # half the bytes to write and read
build_tiny_checkpoint(sys.argv[2], SHAPES[sys.argv[1]])
PY

DEVICE=$(python -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
python benchmarks/bench_gate.py --model "$MODEL" --device "$DEVICE" \
    --dtype bfloat16 --naive 0 --sweep 64,256 --growth 100,200,400,800 "$@" \
    | tee "$WORK/bench_gate.md"
rm -rf "$(dirname "$MODEL")"
