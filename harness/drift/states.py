"""Last-token hidden states of a checkpoint on the localization's N and M queries.

The inputs of :func:`harness.drift.representation.representation_drift` and
:func:`harness.drift.representation.gap_curve`. A baseline's states are the
same for every subject compared with it, so :func:`cached_query_states` keeps
them in the baseline cache: the tensors in a ``.safetensors`` file beside the
JSON entry, written (atomically) before the entry that names them.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.baseline_cache import BaselineCache, BaselineKey
from harness.checkpoint import LoadOptions, load_checkpoint
from harness.localization.activations import last_token_states
from harness.localization.data import load_query_set
from harness.localization.reuse import StatesKey, fingerprint_once, recall_states
from harness.precision import choose_dtype
from harness.progress import progress_bar
from harness.prompts import PromptFormatter, TemplateKind

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class QueryStates:
    """``[prompts, layers, d]`` states of the normal and the malicious queries."""

    normal: torch.Tensor
    malicious: torch.Tensor


def query_states(
    model_dir: str | Path,
    options: LoadOptions,
    *,
    batch_size: int = 16,
    template: TemplateKind | str = TemplateKind.AUTO,
) -> QueryStates:
    """The states of a checkpoint on the shipped N and M sets.

    The states its localization just computed in this process are reused
    (:mod:`harness.localization.reuse`); otherwise the checkpoint is loaded,
    run and freed.
    """
    key = states_key(model_dir, options, template)
    found = recall_states(key)
    if found is not None:
        return QueryStates(normal=found[0], malicious=found[1])
    name = Path(model_dir).name
    with progress_bar(1, f"load {name}") as advance:
        model, tokenizer = load_checkpoint(str(model_dir), options)
        advance(1)
    try:
        formatter = PromptFormatter(tokenizer, template)
        sets = [load_query_set(n).prompts for n in ("normal", "malicious")]
        with progress_bar(sum(map(len, sets)), f"drift states {name}") as advance:
            normal, malicious = (
                last_token_states(
                    model,
                    tokenizer,
                    formatter.prompts(prompts),
                    batch_size=batch_size,
                    advance=advance,
                )
                for prompts in sets
            )
    finally:
        del model
        gc.collect()
    return QueryStates(normal=normal, malicious=malicious)


def states_key(
    model_dir: str | Path, options: LoadOptions, template: TemplateKind | str
) -> StatesKey:
    """What the states of ``model_dir`` depend on (the localization's key too)."""
    data = query_data_digest()
    return StatesKey(
        fingerprint=fingerprint_once(model_dir),
        dtype=choose_dtype(options.dtype, options.device),
        device=options.device,
        template=TemplateKind(template).value,
        normal_sha256=data["normal"],
        malicious_sha256=data["malicious"],
    )


def query_data_digest() -> dict[str, str]:
    """Content hashes of the N and M sets, part of a states cache key."""
    return {name: load_query_set(name).sha256 for name in ("normal", "malicious")}


def cached_query_states(
    cache: BaselineCache, key: BaselineKey, compute: Callable[[], QueryStates]
) -> QueryStates:
    """The states stored under ``key``, computed and stored once on a miss."""
    tensors = cache.path(key).with_suffix(".safetensors")

    def store() -> dict[str, Any]:
        states = compute()
        _save(tensors, states)
        return {"tensors": tensors.name, "shape": list(states.normal.shape)}

    entry = cache.get_or_compute(key, store)
    if not (cache.directory / str(entry["tensors"])).is_file():
        states = compute()  # the tensor file was removed: measure again
        _save(tensors, states)
        return states
    return _load(cache.directory / str(entry["tensors"]))


def _save(path: Path, states: QueryStates) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(
        {
            "normal": states.normal.contiguous(),
            "malicious": states.malicious.contiguous(),
        },
        str(partial),
    )
    os.replace(partial, path)


def _load(path: Path) -> QueryStates:
    from safetensors.torch import load_file

    found = load_file(str(path))
    return QueryStates(normal=found["normal"], malicious=found["malicious"])
