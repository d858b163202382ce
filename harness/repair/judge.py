"""The ladder's judge: the gate's suites, with thresholds, stopping once decided.

Both the command line and the pytest ``--repair`` flow judge candidates with
:class:`SuiteJudge`: each suite is run through
:func:`harness.evaluation.evaluate_suite` with the suite's own judge (as the
gate runs it) and compared with a threshold: the harm rate for a harm suite,
the refusal rate for an over-refusal suite; more than the suite's
``undetermined.max_share`` of empty or degenerate answers fails too.

Most candidates fail, and clearly: the prompts go in chunks, and a suite
stops as soon as its failure is certain (more complied answers than the
threshold allows of the whole sample); the suites after a failed one are not
run. The verdict then gives the count so far as a lower bound ("≥ 14/60").
``early_stop=False`` measures every candidate in full.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harness.repair.records import CandidateVerdict

if TYPE_CHECKING:
    from harness.backends.base import GenerationBackend
    from harness.metrics import RateSummary
    from harness.suites import Suite

#: The repository's suites, the defaults when the CLI runs from a checkout.
SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"


@dataclass(frozen=True)
class SuiteGate:
    """One suite and the highest rate that passes."""

    suite: Path
    measure: Literal["harm_rate", "over_refusal"]
    threshold: float


def default_gates(
    harm: float | None = None, over_refusal: float | None = None
) -> list[SuiteGate]:
    """The harm suite and, if present, the over-refusal suite of this checkout.

    Thresholds default to the gate's own (:class:`harness.config.RunSettings`).
    """
    from harness.config import RunSettings

    fields = RunSettings.model_fields
    harm = fields["harm_threshold"].default if harm is None else harm
    if over_refusal is None:
        over_refusal = fields["over_refusal_threshold"].default
    gates = [SuiteGate(SUITES_DIR / "harm" / "suite.yaml", "harm_rate", harm)]
    over = SUITES_DIR / "over_refusal" / "suite.yaml"
    if over.is_file():
        gates.append(SuiteGate(over, "over_refusal", over_refusal))
    return gates


@dataclass(frozen=True)
class SuiteResult:
    """One suite's counts on one candidate (``judged < n``: stopped early)."""

    n: int
    judged: int
    hits: int
    undetermined: int

    @property
    def rate(self) -> float:
        """``hits / n``: exact when every prompt was judged, else a lower bound."""
        return self.hits / self.n if self.n else 0.0


class SuiteJudge:
    """Judge a candidate directory by running suites on it (a ``CandidateJudge``)."""

    def __init__(
        self,
        gates: Sequence[SuiteGate],
        *,
        max_prompts: int | None = 100,
        max_new_tokens: int = 64,
        device: str = "auto",
        batch_size: int = 16,
        seed: int = 0,
        early_stop: bool = True,
        chunk: int | None = None,
    ) -> None:
        from harness.suites import load_suite

        # Load (and validate) the suites now: a bad path fails before any work.
        self.suites = [
            (gate, load_suite(gate.suite).subsample(max_prompts, seed))
            for gate in gates
        ]
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.batch_size = batch_size
        self.early_stop = early_stop
        self.chunk = chunk or 2 * batch_size

    def __call__(self, path: Path) -> CandidateVerdict:
        from harness.backends.hf import HFBackend
        from harness.checkpoint import LoadOptions, resolve_device

        options = LoadOptions(device=resolve_device(self.device))
        with HFBackend.from_checkpoint(
            str(path), options, batch_size=self.batch_size
        ) as backend:
            return self.judge_with(backend, path.name)

    def judge_with(self, backend: GenerationBackend, subject: str) -> CandidateVerdict:
        """Run the suites on an open backend (early stop: up to the first failure)."""
        metrics: dict[str, float] = {}
        failures: list[str] = []
        for gate, suite in self.suites:
            result = self._run(gate, suite, backend, subject)
            key = f"{suite.name}.{gate.measure}"
            metrics[key] = result.rate
            metrics[f"{suite.name}.judged"] = result.judged
            metrics[f"{suite.name}.n"] = result.n
            failure = _failure(gate, suite, result)
            if failure:
                failures.append(failure)
                if self.early_stop:
                    break
        summary_line = "; ".join(failures) if failures else "every suite passes"
        return CandidateVerdict(not failures, metrics, summary_line)

    def _run(
        self,
        gate: SuiteGate,
        suite: Suite,
        backend: GenerationBackend,
        subject: str,
    ) -> SuiteResult:
        from harness.evaluation import evaluate_suite
        from harness.judges import create_judge

        fallback = create_judge("keyword", {})  # the suites name their own
        prompts = suite.prompts
        n = len(prompts)
        hit_limit = math.floor(gate.threshold * n + 1e-9)
        odd_limit = math.floor(suite.config.undetermined.max_share * n + 1e-9)
        judged = hits = undetermined = 0
        step = self.chunk if self.early_stop else max(1, n)
        for start in range(0, n, step):
            part = dataclasses.replace(suite, prompts=prompts[start : start + step])
            evaluation = evaluate_suite(
                part,
                backend,
                fallback,
                subject=subject,
                max_new_tokens=self.max_new_tokens,
            )
            summary: RateSummary = evaluation.summary
            judged += summary.n
            hits += summary.complied if gate.measure == "harm_rate" else summary.refused
            undetermined += summary.undetermined
            if self.early_stop and (hits > hit_limit or undetermined > odd_limit):
                break
        return SuiteResult(n, judged, hits, undetermined)


def _failure(gate: SuiteGate, suite: Suite, result: SuiteResult) -> str:
    """Why ``result`` fails ``gate`` (empty: it passes)."""
    partial = result.judged < result.n
    bound = "≥ " if partial else ""
    after = f" (stopped after {result.judged}/{result.n})" if partial else ""
    if result.rate > gate.threshold:
        return (
            f"{suite.name} {gate.measure} {bound}{result.rate:.1%} "
            f"({bound}{result.hits}/{result.n}) > {gate.threshold:.1%}{after}"
        )
    share = result.undetermined / result.n if result.n else 0.0
    limit = suite.config.undetermined.max_share
    if share > limit:
        return (
            f"{suite.name} undetermined {bound}{share:.1%} "
            f"({bound}{result.undetermined}/{result.n}) > {limit:.0%}{after}"
        )
    return ""
