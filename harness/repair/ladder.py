"""The repair ladder: cheapest rung first, every candidate judged by the gate.

:func:`repair` takes the failing checkpoint and its baseline, tries the rungs
of :mod:`harness.repair.rungs` in order, judges every candidate with the
caller's ``judge`` (the gate's suites: safety and over-refusal) and a utility
check of its own, and keeps the first candidate that passes with the least
utility loss. The kept directory is published atomically with its manifest;
the inputs are only read (their fingerprints are checked before and after).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, with_config

from harness.errors import ConfigError, HarnessError
from harness.layers import LayerRange
from harness.repair.data import RepairData, load_repair_data
from harness.repair.records import (
    Candidate,
    CandidateJudge,
    CandidateVerdict,
    RepairResult,
    RungRecord,
    Utility,
)
from harness.repair.rungs import RUNGS, Tier
from harness.repair.sppft import SPPFTSettings
from harness.repair.weights import ModelPair

DEFAULT_RUNGS = ("band", "interpolate", "sparse", "sppft")


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class RepairSettings:
    """Every knob of the ladder; defaults follow issue 15 and paper Table 6."""

    rungs: tuple[str, ...] = DEFAULT_RUNGS
    band_lambdas: tuple[float, ...] = (0.0, 0.25, 0.5)
    max_bands: int = 7
    #: Width of a band chosen by drift (default: an eighth of the depth).
    band_width: int | None = None
    interpolation_lambdas: tuple[float, ...] = (0.9, 0.75, 0.5, 0.25)
    sparsities: tuple[float, ...] = (0.01, 0.05, 0.1)
    harmful_pairs: int = 32
    rollback_limit: int = 8
    #: Largest relative held-out loss increase over the failing checkpoint's.
    max_utility_loss: float = 0.10
    #: Without data: largest 1 − answer agreement with the failing checkpoint.
    max_divergence: float = 0.5
    benign_prompts: int = 16
    answer_tokens: int = 32
    heldout_share: float = 0.1
    #: Judge candidates over the utility margin too (figures for every rung).
    judge_all: bool = False
    #: Climb every rung, each to its first passing tier, for a side-by-side
    #: comparison; the kept candidate is still the cheapest rung's.
    every_rung: bool = False
    #: Stop judging a candidate once its failure is certain (harness.repair.judge).
    early_stop: bool = True
    seed: int = 0
    sppft: SPPFTSettings = field(default_factory=SPPFTSettings)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What the rungs share: the models, the band, the data and the checks."""

    pair: ModelPair
    settings: RepairSettings
    band: LayerRange
    drift: list[float]
    data: RepairData | None
    scratch: Path
    baseline_ref: str
    baseline_fingerprint: str
    lora: bool
    judge: CandidateJudge
    utility: Callable[[Any], Utility]
    margin: float
    band_source: str = ""
    counter: int = 0

    def next_dir(self) -> Path:
        self.counter += 1
        return self.scratch / f"candidate-{self.counter:03d}"

    def sppft_checkpoints(self, key: str) -> Path:
        """Trainer checkpoints beside the output: a rerun resumes them."""
        return self.scratch.parent / f".sppft-{key}"


def repair(
    failing: str | Path,
    baseline: str | Path,
    *,
    judge: CandidateJudge,
    out_dir: str | Path,
    data: str | Path | None = None,
    heldout: str | Path | None = None,
    band: LayerRange | None = None,
    located: LayerRange | None = None,
    settings: RepairSettings | None = None,
) -> RepairResult:
    """Repair ``failing`` against ``baseline``; publish the kept candidate.

    Args:
        failing: The checkpoint that failed the gate (an HF dir or a LoRA
            adapter; ``zoo:`` references are resolved by the caller).
        baseline: The same model before fine-tuning.
        judge: Judges one candidate directory with the gate's suites.
        out_dir: Where the repaired checkpoint goes; must not exist (or be
            empty). Without a passing candidate, ``<out_dir>.failed.json``
            records every rung instead.
        data: The user's fine-tuning data (utility check and SPPFT).
        heldout: Examples of the same task the fine-tune never saw, for the
            utility check (default: a slice of ``data``; needs ``data``).
        band: ``--safety-layers``; else ``located`` (the baseline's located
            safety layers); else the layers of largest weight drift.
        settings: The ladder's knobs.
    """
    from harness.checkpoint import checkpoint_path, fingerprint_checkpoint

    settings = settings or RepairSettings()
    _check_rungs(settings.rungs)
    paths = (checkpoint_path(str(failing)), checkpoint_path(str(baseline)))
    out = _check_out(Path(out_dir), paths)
    prints = [fingerprint_checkpoint(str(p)) for p in paths]
    before = judge(paths[0])
    if before.passed:
        note = "the failing checkpoint already passes the gate: nothing to repair"
        return RepairResult(None, None, before, None, [], None, "", None, [note])
    if heldout is not None and data is None:
        raise ConfigError("a held-out file needs the fine-tuning data too")
    repair_data = _data(data, heldout, settings)
    ctx = _context(paths, prints[1], repair_data, band, located, settings, judge, out)
    try:
        result = _climb(ctx, before, str(paths[0]))
        _check_unchanged(paths, prints)
        from harness.repair.output import publish

        publish(result, ctx, out, paths, prints)
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)
    return result


def _check_rungs(rungs: tuple[str, ...]) -> None:
    unknown = [r for r in rungs if r not in RUNGS]
    if unknown:
        raise ConfigError(f"unknown repair rungs {unknown}; choose from {list(RUNGS)}")


def _check_out(out: Path, inputs: tuple[Path, Path]) -> Path:
    out = out.expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"repair output {out} already exists; choose a new directory")
    for path in inputs:
        if out == path or path in out.parents:
            raise ConfigError(f"repair output {out} lies inside the input {path}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _data(
    data: str | Path | None, heldout: str | Path | None, settings: RepairSettings
) -> RepairData | None:
    if data is None:
        return None
    return load_repair_data(
        data, heldout_share=settings.heldout_share, seed=settings.seed, heldout=heldout
    )


def _context(
    paths: tuple[Path, Path],
    baseline_fingerprint: str,
    data: RepairData | None,
    band: LayerRange | None,
    located: LayerRange | None,
    settings: RepairSettings,
    judge: CandidateJudge,
    out: Path,
) -> Context:
    from harness.checkpoint import inspect_checkpoint
    from harness.repair.bands import choose_band, layer_drift
    from harness.repair.weights import load_pair

    pair = load_pair(str(paths[0]), str(paths[1]))
    drift = layer_drift(pair.finetuned, pair.baseline)
    chosen, source = choose_band(
        drift, given=band, located=located, width=settings.band_width
    )
    utility, margin = _utility_check(pair, data, settings)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.repair-", dir=out.parent))
    ctx = Context(
        pair=pair,
        settings=settings,
        band=chosen,
        drift=drift,
        data=data,
        scratch=scratch,
        baseline_ref=str(paths[1]),
        baseline_fingerprint=baseline_fingerprint,
        lora=_lora_mode(settings.sppft.lora, inspect_checkpoint(str(paths[0])).kind),
        judge=judge,
        utility=utility,
        margin=margin,
        band_source=source,
    )
    return ctx


def _lora_mode(setting: bool | None, failing_kind: str) -> bool:
    """SPPFT trains LoRA adapters when told to, or when the failing model is one."""
    return failing_kind == "lora" if setting is None else setting


def _utility_check(
    pair: ModelPair, data: RepairData | None, settings: RepairSettings
) -> tuple[Callable[[Any], Utility], float]:
    """The utility function (of a model in memory) and its margin."""
    from harness.repair import utility as u

    model, tokenizer = pair.load(pair.finetuned), pair.tokenizer
    if data is not None:
        held = data.heldout
        reference = u.response_loss(model, tokenizer, held)

        def by_loss(candidate: Any) -> Utility:
            return u.loss_utility(
                u.response_loss(candidate, tokenizer, held), reference
            )

        return by_loss, settings.max_utility_loss
    prompts = u.benign_prompts(settings.benign_prompts, settings.seed)
    tokens = settings.answer_tokens
    answers = u.greedy_answers(model, tokenizer, prompts, tokens)

    def by_agreement(candidate: Any) -> Utility:
        ours = u.greedy_answers(candidate, tokenizer, prompts, tokens)
        return u.agreement_utility(ours, answers)

    return by_agreement, settings.max_divergence


def _climb(ctx: Context, before: CandidateVerdict, failing: str) -> RepairResult:
    """Try the rungs in order; stop at the first tier with a passing candidate."""
    records: list[RungRecord] = []
    kept: Candidate | None = None
    notes: list[str] = []
    for name in ctx.settings.rungs:
        record = RungRecord(name)
        records.append(record)
        if name == "sppft" and ctx.data is None:
            record.skipped = "no fine-tuning data (--data): SPPFT needs it"
            notes.append("SPPFT skipped: no --data given; utility is answer agreement")
            continue
        started = time.perf_counter()
        found: Candidate | None = None
        for tier in RUNGS[name](ctx):
            found = _run_tier(ctx, record, tier)
            if found is not None:
                break
        record.seconds = time.perf_counter() - started
        if found is not None and kept is None:
            kept = found
        elif found is not None and found.path is not None:
            # every_rung: this rung's figures stay, its directory goes.
            shutil.rmtree(found.path, ignore_errors=True)
            found.note = found.note or "passed; a cheaper rung's candidate is kept"
        if kept is not None and not ctx.settings.every_rung:
            break
    before_utility = ctx.utility(ctx.pair.load(ctx.pair.finetuned))
    return RepairResult(
        kept=kept,
        output=None,
        before=before,
        before_utility=before_utility,
        rungs=records,
        band=(ctx.band.first, ctx.band.last),
        band_source=ctx.band_source,
        data_sha256=ctx.data.sha256 if ctx.data else None,
        notes=notes,
    )


def _run_tier(ctx: Context, record: RungRecord, tier: Tier) -> Candidate | None:
    """Build every proposal, then judge them in order of utility loss."""
    built: list[Candidate] = []
    for proposal in tier:
        candidate = Candidate(record.rung, dict(proposal.params), ctx.next_dir())
        started = time.perf_counter()
        result = proposal.build(candidate.path)  # type: ignore[arg-type]
        candidate.params |= result.params
        candidate.note = result.note
        candidate.utility = ctx.utility(result.model)
        candidate.utility_ok = candidate.utility.loss <= ctx.margin
        candidate.build_s = time.perf_counter() - started
        record.candidates.append(candidate)
        built.append(candidate)
    kept = _judge_in_order(ctx, built)
    for candidate in built:
        if candidate is not kept and candidate.path is not None:
            shutil.rmtree(candidate.path, ignore_errors=True)
    return kept


def _judge_in_order(ctx: Context, built: list[Candidate]) -> Candidate | None:
    kept: Candidate | None = None
    for candidate in sorted(built, key=lambda c: c.utility.loss if c.utility else 0):
        if not candidate.utility_ok and not ctx.settings.judge_all:
            candidate.note = (
                candidate.note or "utility loss over the margin: not judged"
            )
            continue
        if kept is not None and not ctx.settings.judge_all:
            candidate.note = "a candidate with less utility loss passed: not judged"
            continue
        started = time.perf_counter()
        candidate.verdict = ctx.judge(candidate.path)  # type: ignore[arg-type]
        candidate.judge_s = time.perf_counter() - started
        if candidate.passed and kept is None:
            kept = candidate
    return kept


def _check_unchanged(paths: tuple[Path, Path], prints: list[str]) -> None:
    """Raise if an input checkpoint changed while repairing (it must never)."""
    from harness.checkpoint import fingerprint_checkpoint

    for path, before in zip(paths, prints, strict=True):
        if fingerprint_checkpoint(str(path)) != before:
            raise HarnessError(f"{path} changed during the repair; it must not")
