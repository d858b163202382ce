"""Reuse the lower blocks of the network across the evaluations of a search.

A block's computation on the prompts depends only on its own weights and on the
blocks below it. So when two evaluations leave blocks ``0..b-1`` in the same
state (unscaled, or scaled by the same alpha), those blocks compute the same
key/value cache entries and hand the same hidden states to block ``b``:

* the upper-bound sweep ``[i, j']`` agrees below its lowest ``j'`` + 1;
* the lower-bound sweep ``[i', j]`` agrees below its lowest ``i'``;
* every sweep agrees with the unscaled baseline below its first scaled block.

The first prompt pass *records* the blocks below a boundary; later passes whose
lower blocks are in the same state *replay* them: each such block is swapped,
for that one forward call, for a stand-in that writes the recorded cache
entries through the cache's own ``update`` and hands the recorded hidden states
on. A recording pass may itself replay a lower record (e.g. the baseline's) and
record a higher boundary. Stand-ins are installed in a context manager and the
real blocks are put back in ``finally``; generated tokens always run through
the real blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.layers import LayerRange, decoder_layers, forward_hooks

_CACHE_KWARGS = ("cache", "past_key_values", "past_key_value")
Update = tuple[tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class BlockStates:
    """The scaling state of every block: ``scaled`` (inclusive) times ``alpha``."""

    scaled: LayerRange | None
    alpha: float = 1.0

    def factor(self, block: int) -> float:
        """The factor block ``block`` is scaled by (1.0 when untouched)."""
        if self.scaled is None or self.alpha == 1.0:
            return 1.0
        first, last = self.scaled
        return self.alpha if first <= block <= last else 1.0

    def agrees_below(self, other: BlockStates, boundary: int) -> bool:
        """Whether blocks ``0..boundary-1`` are in the same state in both."""
        return all(self.factor(b) == other.factor(b) for b in range(boundary))


def shared_boundary(states: list[BlockStates], layers: int) -> int:
    """The first block where the evaluations of a sweep stop agreeing."""
    for block in range(layers):
        if len({s.factor(block) for s in states}) > 1:
            return block
    scaled = [s.scaled[0] for s in states if s.scaled is not None]
    return min(scaled) if scaled else 0


@dataclass
class ChunkRecord:
    """What blocks below a boundary did during one chunk's prompt pass."""

    updates: dict[int, list[Update]] = field(default_factory=dict)
    output: Any = None


@dataclass
class Record:
    """Recordings of blocks ``0..boundary-1`` in one state, per prompt chunk."""

    boundary: int
    states: BlockStates
    chunks: dict[int, ChunkRecord] = field(default_factory=dict)


class LowerBlocks:
    """A few recordings, chosen per evaluation by the state of the lower blocks."""

    def __init__(self, model: Any, keep: int = 4) -> None:
        self.model = model
        self.keep = keep
        self.records: list[Record] = []

    def plan(
        self, states: BlockStates, boundary: int
    ) -> tuple[Record | None, Record | None]:
        """Return (record to replay, new record to fill) for one evaluation."""
        usable = [r for r in self.records if states.agrees_below(r.states, r.boundary)]
        source = max(usable, key=lambda r: r.boundary, default=None)
        reach = source.boundary if source is not None else 0
        target = None
        if boundary > reach:
            target = Record(boundary, states)
            self.records = [*self.records, target][-self.keep :]
        return source, target

    @contextmanager
    def applied(
        self, source: Record | None, target: Record | None, cache: Any, chunk: int
    ) -> Iterator[None]:
        """Replay ``source`` and record ``target`` during one chunk's prompt pass."""
        with ExitStack() as stack:
            if target is not None:
                stack.enter_context(self._recording(target, cache, chunk))
            if source is not None and chunk in source.chunks:
                stack.enter_context(self._replaying(source, chunk))
            yield

    @contextmanager
    def _recording(self, record: Record, cache: Any, chunk: int) -> Iterator[None]:
        kept = ChunkRecord()
        original_update = cache.update

        def update(keys: Any, values: Any, layer_idx: int, *a: Any, **k: Any) -> Any:
            if layer_idx < record.boundary:
                kept.updates.setdefault(layer_idx, []).append(
                    ((keys, values, layer_idx, *a), k)
                )
            return original_update(keys, values, layer_idx, *a, **k)

        def keep_output(module: Any, args: Any, output: Any) -> None:
            kept.output = output

        last_lower = decoder_layers(self.model)[record.boundary - 1]
        cache.update = update
        try:
            with forward_hooks([(last_lower, keep_output)]):
                yield
        finally:
            del cache.update  # the instance attribute shadowed the method
        record.chunks[chunk] = kept

    @contextmanager
    def _replaying(self, record: Record, chunk: int) -> Iterator[None]:
        layers = decoder_layers(self.model)
        kept = record.chunks[chunk]
        originals = [layers[i] for i in range(record.boundary)]
        try:
            for index, block in enumerate(originals):
                last = index == record.boundary - 1
                output = kept.output if last else None
                updates = kept.updates.get(index, [])
                layers[index] = replay_block_class()(block, updates, output)
            yield
        finally:
            for index, block in enumerate(originals):
                layers[index] = block


@functools.cache
def replay_block_class() -> Any:
    """The stand-in block class (built on first use: torch loads lazily)."""
    import torch

    class ReplayBlock(torch.nn.Module):
        """Stands in for a lower block: replays its cache writes and its output."""

        def __init__(self, block: Any, updates: list[Update], output: Any) -> None:
            super().__init__()
            # Kept out of the module tree, so the stand-in owns no parameters.
            object.__setattr__(self, "_block", block)
            self._updates = updates
            self._output = output

        def __getattr__(self, name: str) -> Any:
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(object.__getattribute__(self, "_block"), name)

        def forward(self, hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
            cache = next((kwargs[k] for k in _CACHE_KWARGS if k in kwargs), None)
            if cache is not None:
                for call_args, call_kwargs in self._updates:
                    cache.update(*call_args, **call_kwargs)
            return hidden_states if self._output is None else self._output

    return ReplayBlock
