"""vLLM backend: the offline ``LLM`` engine, one call for the whole prompt set.

vLLM is an optional extra and is imported only when this backend is built.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

from harness.backends.base import ClosingBackend
from harness.checkpoint import LoadOptions, inspect_checkpoint
from harness.errors import BackendUnavailableError, MissingDependencyError
from harness.progress import Advance


def vllm_importable() -> bool:
    """Whether the vllm package can be found, without importing it."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class VLLMBackend(ClosingBackend):
    """Greedy generation with vLLM's offline engine."""

    name = "vllm"

    def __init__(
        self,
        ref: str,
        options: LoadOptions,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        seed: int = 0,
        max_model_len: int | None = None,
    ) -> None:
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
        dtype = "auto" if options.dtype == "auto" else options.dtype
        self._llm: Any = LLM(
            model=str(info.path),
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            seed=seed,
            max_model_len=max_model_len,
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
