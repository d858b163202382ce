"""Last-token hidden states of every decoder block (paper §3.2).

One batched pass per query set. Forward hooks keep only the last position of
each block's output, so memory is O(prompts x layers x d), never x tokens.
The vector of block ``k`` is HF's ``hidden_states[k + 1][:, -1]``; as in HF,
the last block's vector is taken after the final norm, which is what the
authors' script read (docs/localization.md, note 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.layers import (
    decoder_layers,
    final_norm,
    first_tensor,
    forward_hooks,
)
from harness.localization.encoding import (
    PrefixCache,
    cache_keyword,
    encode_prompts,
    length_sorted_chunks,
    pad_chunk,
)
from harness.progress import Advance

if TYPE_CHECKING:
    import torch


def last_token_states(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    batch_size: int = 64,
    advance: Advance | None = None,
) -> torch.Tensor:
    """Return ``[prompts, layers, d]`` float32 last-position block outputs.

    Args:
        model: A causal LM in eval mode.
        tokenizer: Its tokenizer.
        prompts: Fully formatted prompts (template applied).
        batch_size: Prompts per forward pass.
        advance: Progress callback, called with the number of prompts done.
    """
    import torch

    encoded = encode_prompts(tokenizer, prompts)
    layers = decoder_layers(model)
    out = torch.empty((len(prompts), len(layers), model.config.hidden_size))
    prefix = PrefixCache(model, encoded.prefix)
    prefix.compute()
    pad_id = _pad_id(tokenizer)
    for indices in length_sorted_chunks(encoded, batch_size):
        chunk = pad_chunk(encoded, indices, pad_id, model.device)
        captured = _run_chunk(model, layers, prefix.expanded(len(indices)), chunk)
        out[torch.tensor(indices)] = captured
        if advance is not None:
            advance(len(indices))
    return out


def _run_chunk(model: Any, layers: Any, cache: Any, chunk: Any) -> torch.Tensor:
    import torch

    per_layer: list[torch.Tensor | None] = [None] * len(layers)

    def keeper(index: int) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            # Left padding puts every prompt's last token in the last column.
            per_layer[index] = first_tensor(output)[:, -1, :].float().cpu()

        return hook

    hooks = [(layer, keeper(i)) for i, layer in enumerate(layers)]
    # paper §3.2; docs/localization.md, note 1: the last block's vector is read
    # after the final norm.
    hooks.append((final_norm(model), keeper(len(layers) - 1)))
    with forward_hooks(hooks), torch.inference_mode():
        model(
            input_ids=chunk.input_ids,
            attention_mask=chunk.attention_mask,
            position_ids=chunk.position_ids,
            use_cache=True,
            logits_to_keep=1,
            **{cache_keyword(model): cache},
        )
    return torch.stack([t for t in per_layer if t is not None], dim=1)


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id
    return int(pad or 0)
