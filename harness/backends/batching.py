"""How many prompts the ``hf`` backend generates at once (``batch_size=auto``).

On a GPU the batch is what the free memory holds: each row needs its KV cache
(2 x layers x KV heads x head size x bytes, per token, for the prompt and the
answer) plus the activations of its prefill and the float32 logits of a step.
On a CPU the batch is a fixed rule, :data:`CPU_BATCH`: decoding streams every
weight once per step, so a batch amortizes that until the matmuls become
compute-bound; beyond 64 rows a 2-core CPU gained little and pads more
(``benchmarks/bench_gate.py`` measures the sweep, ``docs/performance.md``).

The chosen batch is rounded down to a power of two, so small changes in free
memory from one run to the next do not change it: the same machine and
settings generate the same batches, hence the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

BatchSize = int | Literal["auto"]

#: Prompts per batch on a CPU (see the module docstring).
CPU_BATCH = 64
#: The most prompts per batch on a GPU: beyond it one batch holds a whole suite.
GPU_MAX_BATCH = 512
#: The share of the free memory the batch may take (the rest: fragmentation,
#: the allocator's cache, what ``generate`` allocates besides these estimates).
MEMORY_SHARE = 0.6


@dataclass(frozen=True)
class ModelShape:
    """What the memory of a batch row depends on."""

    layers: int
    hidden: int
    intermediate: int
    kv_heads: int
    head_dim: int
    vocab: int
    #: Bytes of one element of the compute dtype.
    element_bytes: int

    @property
    def kv_bytes_per_token(self) -> int:
        """Keys and values of one token in every layer."""
        return 2 * self.layers * self.kv_heads * self.head_dim * self.element_bytes

    def row_bytes(self, tokens: int) -> int:
        """Memory of one batch row of ``tokens`` tokens at its peak."""
        prefill = tokens * (4 * self.hidden + 3 * self.intermediate)
        return (
            tokens * self.kv_bytes_per_token
            + prefill * self.element_bytes
            + (4 * self.vocab)
        )


def model_shape(model: Any) -> ModelShape:
    """Read the shape of a transformers model from its config."""
    config = model.config
    config = getattr(config, "text_config", None) or config
    heads = int(config.num_attention_heads)
    hidden = int(config.hidden_size)
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    element = next(model.parameters()).element_size()
    return ModelShape(
        layers=int(config.num_hidden_layers),
        hidden=hidden,
        intermediate=int(getattr(config, "intermediate_size", 4 * hidden)),
        kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
        head_dim=int(head_dim),
        vocab=int(config.vocab_size),
        element_bytes=int(element),
    )


def free_memory(device: str, meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Free bytes on ``device``: the GPU's, else the host's available memory."""
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def power_of_two_floor(value: int) -> int:
    """The largest power of two at most ``value`` (1 for anything below 2)."""
    return 1 << (max(1, value).bit_length() - 1)


def auto_batch_size(
    shape: ModelShape,
    device: str,
    *,
    tokens_per_row: int,
    free_bytes: int | None,
) -> int:
    """Prompts per batch for rows of ``tokens_per_row`` tokens on ``device``.

    GPU: as many rows as :data:`MEMORY_SHARE` of ``free_bytes`` holds, at most
    :data:`GPU_MAX_BATCH`; CPU: :data:`CPU_BATCH`, fewer only when the host's
    memory would not hold it. Always a power of two.
    """
    limit = GPU_MAX_BATCH if device.startswith("cuda") else CPU_BATCH
    if free_bytes is not None:
        fits = int(free_bytes * MEMORY_SHARE) // shape.row_bytes(tokens_per_row)
        limit = min(limit, fits)
    return power_of_two_floor(limit)
