"""R_o: how many over-rejection queries a (scaled) model refuses (paper §3.4.2).

One evaluation generates at most ``max_new_tokens`` greedy tokens for every
query, all queries batched, and stops a sequence as soon as the judge has
decided it (:func:`harness.judges.decide_prefix`; paper §3.4.3: the
propensity shows in the first 4-8 tokens).
Three reuses keep a whole search cheap; none changes a single token:

* the template text every prompt shares is run once per evaluation (batch 1);
* blocks whose state a sweep's ranges share (e.g. everything below the lowest
  scaled block) are recorded on the first pass and replayed afterwards
  (:mod:`harness.localization.replay`);
* finished sequences leave the batch, so later steps run fewer rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.judges.base import Judge, decide_prefix
from harness.layers import LayerRange, num_layers
from harness.localization.encoding import (
    PaddedChunk,
    PrefixCache,
    cache_keyword,
    encode_prompts,
    length_sorted_chunks,
    pad_chunk,
)
from harness.localization.replay import (
    BlockStates,
    LowerBlocks,
    Record,
    shared_boundary,
)
from harness.localization.scaling import scaled_layers
from harness.localization.search import RoPoint
from harness.progress import Advance, progress_bar
from harness.prompts import stop_token_ids

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class RoMeasurement:
    """One R_o evaluation: per-query refusal flags and openings, in query order."""

    layer_range: LayerRange | None
    alpha: float
    refused: tuple[bool, ...]
    responses: tuple[str, ...]
    decode_steps: int
    seconds: float

    @property
    def count(self) -> int:
        """R_o: the number of refused queries."""
        return sum(self.refused)


@dataclass
class _Rows:
    """The still-undecided sequences of one chunk during decoding."""

    rows: list[int]  # positions in the chunk
    tokens: torch.Tensor  # last token per row
    mask: torch.Tensor
    positions: torch.Tensor


class OverRejectionEvaluator:
    """Measures R_o for layer ranges scaled by alpha, reusing all it can."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        prompts: Sequence[str],
        judge: Judge,
        *,
        instructions: Sequence[str] | None = None,
        max_new_tokens: int = 8,
        batch_size: int = 128,
        include_o_proj: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.judge = judge
        self.instructions = list(instructions or prompts)
        self.max_new_tokens = max_new_tokens
        self.include_o_proj = include_o_proj
        self.encoded = encode_prompts(tokenizer, prompts)
        self.chunks = list(length_sorted_chunks(self.encoded, batch_size))
        self._stops = set(stop_token_ids(model, tokenizer))
        pad = tokenizer.pad_token_id
        self._pad = int(pad if pad is not None else tokenizer.eos_token_id or 0)
        self._lower = LowerBlocks(model)
        #: Evaluations actually run (memoized repeats are not counted).
        self.evaluations = 0
        self._memo: dict[tuple[LayerRange | None, float], RoMeasurement] = {}

    def __len__(self) -> int:
        return len(self.encoded)

    def measure(
        self,
        layer_range: LayerRange | None,
        alpha: float,
        *,
        boundary: int = 0,
        advance: Advance | None = None,
    ) -> RoMeasurement:
        """R_o with ``layer_range`` (inclusive) scaled by ``alpha``; None = unscaled.

        Args:
            layer_range: Blocks to scale, or None for the unscaled model.
            alpha: Scaling factor.
            boundary: Record the blocks below this one for coming evaluations
                that leave them in the same state (0: record nothing new).
            advance: Progress callback, called with the queries done.
        """
        key = (layer_range, round(alpha, 10))
        if key not in self._memo:
            self._memo[key] = self._evaluate(layer_range, alpha, boundary, advance)
            self.evaluations += 1
        elif advance is not None:
            advance(len(self))
        return self._memo[key]

    def measure_many(
        self,
        ranges: Sequence[LayerRange],
        alpha: float,
        *,
        advance: Advance | None = None,
    ) -> list[RoMeasurement]:
        """Measure a sweep; the blocks all its ranges agree on are computed once."""
        states = [BlockStates(r, alpha) for r in ranges]
        boundary = shared_boundary(states, num_layers(self.model))
        return [
            self.measure(r, alpha, boundary=boundary, advance=advance) for r in ranges
        ]

    def _evaluate(
        self,
        layer_range: LayerRange | None,
        alpha: float,
        boundary: int,
        advance: Advance | None,
    ) -> RoMeasurement:
        import torch

        source, target = self._lower.plan(BlockStates(layer_range, alpha), boundary)
        started = time.perf_counter()
        refused: list[bool] = [False] * len(self)
        responses: list[str] = [""] * len(self)
        steps = 0
        with self._scaled(layer_range, alpha), torch.inference_mode():
            prefix = PrefixCache(self.model, self.encoded.prefix)
            prefix.compute()
            for number, indices in enumerate(self.chunks):
                steps += self._run_chunk(
                    number, indices, prefix, (source, target), refused, responses
                )
                if advance is not None:
                    advance(len(indices))
        return RoMeasurement(
            layer_range,
            alpha,
            tuple(refused),
            tuple(responses),
            steps,
            time.perf_counter() - started,
        )

    def _scaled(self, layer_range: LayerRange | None, alpha: float) -> Any:
        if layer_range is None or alpha == 1.0:
            return nullcontext()
        first, last = layer_range
        return scaled_layers(
            self.model, first, last, alpha, include_o_proj=self.include_o_proj
        )

    def _run_chunk(
        self,
        number: int,
        indices: list[int],
        prefix: PrefixCache,
        plan: tuple[Record | None, Record | None],
        refused: list[bool],
        responses: list[str],
    ) -> int:
        chunk = pad_chunk(self.encoded, indices, self._pad, self.model.device)
        cache = prefix.expanded(len(indices))
        with self._lower.applied(*plan, cache, number):
            logits = self._forward(
                chunk.input_ids, chunk.attention_mask, chunk.position_ids, cache
            )
        return self._decode(indices, chunk, cache, logits, refused, responses)

    def _forward(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any
    ) -> torch.Tensor:
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{cache_keyword(self.model): cache},
        )
        return out.logits[:, -1, :]  # type: ignore[no-any-return]

    def _decode(
        self,
        indices: list[int],
        chunk: PaddedChunk,
        cache: Any,
        logits: torch.Tensor,
        refused: list[bool],
        responses: list[str],
    ) -> int:
        generated: list[list[int]] = [[] for _ in indices]
        state = _Rows(
            list(range(len(indices))),
            logits.argmax(-1),
            chunk.attention_mask,
            chunk.next_position,
        )
        for step in range(self.max_new_tokens):
            final = step == self.max_new_tokens - 1
            keep = self._judge_step(
                state, generated, indices, final, refused, responses
            )
            if not keep:
                return step + 1
            state = self._advance(state, keep, cache)
        return self.max_new_tokens

    def _judge_step(
        self,
        state: _Rows,
        generated: list[list[int]],
        indices: list[int],
        final: bool,
        refused: list[bool],
        responses: list[str],
    ) -> list[int]:
        """Append this step's tokens, judge every row; return the undecided rows."""
        keep = []
        for local, (row, token) in enumerate(
            zip(state.rows, state.tokens.tolist(), strict=True)
        ):
            ended = token in self._stops
            if not ended:
                generated[row].append(token)
            text = self.tokenizer.decode(generated[row], skip_special_tokens=True)
            query = indices[row]
            instruction = self.instructions[query]
            judgement = (
                self.judge.judge(instruction, text)
                if final or ended
                else decide_prefix(self.judge, instruction, text)
            )
            if judgement is None:
                keep.append(local)
            else:
                refused[query], responses[query] = judgement.refused, text
        return keep

    def _advance(self, state: _Rows, keep: list[int], cache: Any) -> _Rows:
        """Drop decided rows from the batch and run one decoding step."""
        import torch

        if len(keep) < len(state.rows):
            selected = torch.tensor(keep, device=state.tokens.device)
            cache.batch_select_indices(selected)
            state = _Rows(
                [state.rows[i] for i in keep],
                state.tokens[selected],
                state.mask[selected],
                state.positions[selected],
            )
        ones = torch.ones_like(state.mask[:, :1])
        mask = torch.cat([state.mask, ones], dim=1)
        logits = self._forward(
            state.tokens[:, None], mask, state.positions[:, None], cache
        )
        return _Rows(state.rows, logits.argmax(-1), mask, state.positions + 1)


class EvaluatorOracle:
    """Adapts :class:`OverRejectionEvaluator` to the search's oracle protocol."""

    def __init__(self, evaluator: OverRejectionEvaluator, boundary: int) -> None:
        self.evaluator = evaluator
        self.queries = len(evaluator)
        self.boundary = boundary
        self.refused: dict[tuple[LayerRange, float], tuple[bool, ...]] = {}
        self.baseline_refused: tuple[bool, ...] | None = None
        self.evaluations = 0

    def baseline(self) -> RoPoint:
        """Unscaled R_o; its pass records the blocks below the initial range."""
        with progress_bar(self.queries, "R_o baseline") as advance:
            measured = self.evaluator.measure(
                None, 1.0, boundary=self.boundary, advance=advance
            )
        self.baseline_refused = measured.refused
        self.evaluations += 1
        return RoPoint(None, 1.0, measured.count, measured.refused)

    def sweep(self, ranges: Sequence[LayerRange], alpha: float) -> list[RoPoint]:
        """R_o of each range scaled by alpha."""
        total = self.queries * len(ranges)
        with progress_bar(total, f"R_o sweep alpha={alpha:g}") as advance:
            measured = self.evaluator.measure_many(ranges, alpha, advance=advance)
        points = []
        for m in measured:
            assert m.layer_range is not None
            self.refused[(m.layer_range, alpha)] = m.refused
            points.append(RoPoint(m.layer_range, alpha, m.count, m.refused))
        self.evaluations = self.evaluator.evaluations
        return points
