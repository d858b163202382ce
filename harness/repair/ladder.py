"""The repair ladder: cheapest rung first, every candidate judged by the gate.

:func:`repair` takes the failing checkpoint and its baseline, tries the rungs
of :mod:`harness.repair.rungs` in order, judges every candidate with the
caller's ``judge`` (the gate's suites: safety and over-refusal) and a utility
check of its own, and keeps the first candidate that passes with the least
utility loss. The kept directory is published atomically with its manifest
and HTML report; the inputs are only read (their fingerprints are checked
before and after). Every finished candidate goes to a journal beside the
output (:mod:`harness.repair.journal`), so a run killed mid-rung resumes from
its last finished candidate.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.checkpoint import (
    checkpoint_path,
    fingerprint_checkpoint,
    inspect_checkpoint,
)
from harness.errors import ConfigError, HarnessError
from harness.layers import LayerRange
from harness.progress import format_seconds, progress_note
from harness.repair import utility as u
from harness.repair.bands import choose_band, layer_drift
from harness.repair.context import Context, Tier
from harness.repair.data import RepairData, load_repair_data
from harness.repair.journal import Journal, state_dir
from harness.repair.output import publish
from harness.repair.records import (
    Candidate,
    CandidateJudge,
    CandidateVerdict,
    RepairResult,
    RungRecord,
    Utility,
)
from harness.repair.rungs import RUNGS
from harness.repair.settings import NEEDS_BASE, NEEDS_DATA, RepairSettings
from harness.repair.weights import ModelPair, load_pair

__all__ = ["Context", "RepairSettings", "repair"]


def repair(
    failing: str | Path,
    baseline: str | Path,
    *,
    judge: CandidateJudge,
    out_dir: str | Path,
    base: str | Path | None = None,
    data: str | Path | None = None,
    heldout: str | Path | None = None,
    band: LayerRange | None = None,
    located: LayerRange | None = None,
    settings: RepairSettings | None = None,
    judge_key: str = "",
) -> RepairResult:
    """Repair ``failing`` against ``baseline``; publish the kept candidate.

    Args:
        failing: The checkpoint that failed the gate (an HF dir or a LoRA
            adapter; ``zoo:`` references are resolved by the caller).
        baseline: The same model before fine-tuning (the aligned model).
        judge: Judges one candidate directory with the gate's suites.
        out_dir: Where the repaired checkpoint goes; must not exist (or be
            empty). Without a passing candidate, ``<out_dir>.failed.json``
            records every rung instead. Until the repair ends, its candidates
            and journal live in ``.<out_dir name>.repair`` beside it: a rerun
            after a kill resumes from the last finished candidate.
        base: The baseline's unaligned base (a resolved directory), for the
            safety-vector and projection rungs (skipped without it).
        data: The user's fine-tuning data (utility check, patch and SPPFT).
        heldout: Examples of the same task the fine-tune never saw, for the
            utility check (default: a slice of ``data``; needs ``data``).
        band: ``--safety-layers``; else ``located`` (the baseline's located
            safety layers); else the layers of largest weight drift.
        settings: The ladder's knobs.
        judge_key: What defines the judge's verdicts (its settings, as text): a
            run resumes only the journal of a run with the same key.
    """
    settings = settings or RepairSettings()
    if heldout is not None and data is None:
        raise ConfigError("a held-out file needs the fine-tuning data too")
    refs = [failing, baseline] + ([] if base is None else [base])
    paths = tuple(checkpoint_path(str(p)) for p in refs)
    out = _check_out(Path(out_dir), paths)
    prints = [fingerprint_checkpoint(str(p)) for p in paths]
    repair_data = _data(data, heldout, settings)
    key = _journal_key(prints, repair_data, band, located, settings, judge_key)
    journal = Journal.open(state_dir(out), key)
    before = journal.before()
    if before is None:
        before = judge(paths[0])
        journal.record_before(before)
    if before.passed:
        shutil.rmtree(journal.path.parent, ignore_errors=True)
        note = "the failing checkpoint already passes the gate: nothing to repair"
        return RepairResult(None, None, before, None, [], None, "", None, [note])
    ctx = _context(
        paths,
        prints[1],
        repair_data,
        band,
        located,
        settings,
        judge,
        journal.path.parent,
    )
    ctx.failing_unsafe = before.unsafe
    result = _climb(ctx, before, journal)
    _check_unchanged(paths, prints)
    publish(result, ctx, out, (paths[0], paths[1]), prints[:2])
    shutil.rmtree(journal.path.parent, ignore_errors=True)
    return result


def _journal_key(
    prints: list[str],
    data: RepairData | None,
    band: LayerRange | None,
    located: LayerRange | None,
    settings: RepairSettings,
    judge_key: str,
) -> str:
    """What a resumed run must share with the one it resumes."""
    material = {
        "judge": judge_key,
        "inputs": prints,
        "data": None if data is None else [data.sha256, data.heldout_sha256],
        "band": None if band is None else list(band),
        "located": None if located is None else list(located),
        "settings": settings.as_dict(),
    }
    text = json.dumps(material, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_out(out: Path, inputs: tuple[Path, ...]) -> Path:
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
    paths: tuple[Path, ...],
    baseline_fingerprint: str,
    data: RepairData | None,
    band: LayerRange | None,
    located: LayerRange | None,
    settings: RepairSettings,
    judge: CandidateJudge,
    scratch: Path,
) -> Context:
    pair = load_pair(str(paths[0]), str(paths[1]))
    drift = layer_drift(pair.finetuned, pair.baseline)
    chosen, source = choose_band(
        drift, given=band, located=located, width=settings.band_width
    )
    utility, margin = _utility_check(pair, data, settings)
    return Context(
        pair=pair,
        settings=settings,
        band=chosen,
        drift=drift,
        data=data,
        scratch=scratch,
        baseline_ref=str(paths[1]),
        baseline_fingerprint=baseline_fingerprint,
        lora_rank=_lora_rank(settings, inspect_checkpoint(str(paths[0])).kind),
        judge=judge,
        utility=utility,
        margin=margin,
        band_source=source,
        base_ref=str(paths[2]) if len(paths) > 2 else None,
    )


def _lora_rank(settings: RepairSettings, failing_kind: str) -> int:
    """The trained rungs train LoRA adapters when told to, or when the failing
    model is one: their rank, or 0 for full fine-tuning."""
    setting = settings.sppft.lora
    lora = failing_kind == "lora" if setting is None else setting
    return settings.sppft.lora_rank if lora else 0


def _utility_check(
    pair: ModelPair, data: RepairData | None, settings: RepairSettings
) -> tuple[Callable[[Any], Utility], float]:
    """The utility function (of a model in memory) and its margin."""
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


def _skip_reason(ctx: Context, name: str) -> str:
    if name in NEEDS_DATA and ctx.data is None:
        return "no fine-tuning data (--data): it trains on it"
    if name in NEEDS_BASE and ctx.base_ref is None:
        return "no unaligned base (--base): it needs aligned - base"
    return ""


def _climb(ctx: Context, before: CandidateVerdict, journal: Journal) -> RepairResult:
    """Try the rungs in order; stop at the first tier with a passing candidate."""
    records: list[RungRecord] = []
    kept: Candidate | None = None
    notes: list[str] = []
    if journal.resumed:
        notes.append(f"resumed: {journal.resumed} candidates from the journal")
    for name in ctx.settings.rungs:
        record = RungRecord(name)
        records.append(record)
        ctx.tried[name] = record.candidates
        record.skipped = _skip_reason(ctx, name)
        if record.skipped:
            continue
        started = time.perf_counter()
        found: Candidate | None = None
        for tier in RUNGS[name](ctx):
            found = _run_tier(ctx, record, tier, journal)
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
    if ctx.data is None:
        notes.append("no --data: utility is answer agreement; patch and SPPFT skipped")
    before_utility = ctx.utility(ctx.pair.load(ctx.pair.finetuned))
    return RepairResult(
        kept=kept,
        output=None,
        before=before,
        before_utility=before_utility,
        rungs=records,
        band=ctx.band,
        band_source=ctx.band_source,
        data_sha256=ctx.data.sha256 if ctx.data else None,
        notes=notes,
    )


def _run_tier(
    ctx: Context, record: RungRecord, tier: Tier, journal: Journal
) -> Candidate | None:
    """Build every proposal not in the journal, then judge by utility loss."""
    built: list[tuple[dict[str, Any], Candidate]] = []
    for proposal in tier:
        done = journal.finished(record.rung, proposal.params)
        if done is not None:
            record.candidates.append(done)
            if done.passed:
                return done
            continue
        candidate = Candidate(record.rung, dict(proposal.params))
        candidate.path = _fresh(ctx, record.rung, len(record.candidates) + 1)
        started = time.perf_counter()
        label = _label(record.rung, proposal.params)
        progress_note(f"repair · {label}: building")
        result = proposal.build(candidate.path)
        candidate.params |= result.params
        candidate.note = result.note
        candidate.utility = ctx.utility(result.model)
        candidate.utility_ok = candidate.utility.loss <= ctx.margin
        candidate.build_s = time.perf_counter() - started
        progress_note(
            f"repair · {label}: built in "
            f"{format_seconds(candidate.build_s)}, utility loss "
            f"{candidate.utility.loss:+.1%}"
        )
        record.candidates.append(candidate)
        built.append((dict(proposal.params), candidate))
    kept = _judge_in_order(ctx, built, journal)
    for _, candidate in built:
        if candidate is not kept and candidate.path is not None:
            shutil.rmtree(candidate.path, ignore_errors=True)
    return kept


def _fresh(ctx: Context, rung: str, first: int) -> Path:
    """A new candidate directory under the scratch, numbered from ``first``.

    The number follows the rung's candidates, so each candidate's gate
    reports (named after its directory) are its own.
    """
    for number in range(first, first + 100_000):
        path = ctx.candidate_dir(f"{rung}-{number:03d}")
        if not path.exists():
            return path
    raise HarnessError(f"too many candidate directories under {ctx.scratch}")


def _judge_in_order(
    ctx: Context, built: list[tuple[dict[str, Any], Candidate]], journal: Journal
) -> Candidate | None:
    kept: Candidate | None = None
    for proposed, candidate in sorted(
        built, key=lambda b: b[1].utility.loss if b[1].utility else 0
    ):
        if not candidate.utility_ok and not ctx.settings.judge_all:
            candidate.note = (
                candidate.note or "utility loss over the margin: not judged"
            )
        elif kept is not None and not ctx.settings.judge_all:
            candidate.note = "a candidate with less utility loss passed: not judged"
        else:
            started = time.perf_counter()
            candidate.verdict = ctx.judge(candidate.path)  # type: ignore[arg-type]
            candidate.judge_s = time.perf_counter() - started
            progress_note(
                f"repair · {_label(candidate.rung, proposed)}: {_outcome(candidate)} "
                f"(judged in {format_seconds(candidate.judge_s)})"
            )
            if candidate.passed and kept is None:
                kept = candidate
        journal.record(proposed, candidate)
    return kept


def _outcome(candidate: Candidate) -> str:
    """``passes``, or ``fails`` and why: the gate's summary, else the utility."""
    if candidate.passed:
        return "passes"
    verdict = candidate.verdict
    if verdict is not None and not verdict.passed:
        return f"fails: {verdict.summary}" if verdict.summary else "fails"
    return "fails: the gate passes, the utility loss is over the margin"


def _label(rung: str, proposed: dict[str, Any]) -> str:
    """``patch refusals=16 seed=0``: the rung and the first three scalar
    parameters it proposed (the tier's own come first)."""
    scalars = [(k, v) for k, v in proposed.items() if not isinstance(v, (dict, list))]
    shown = " ".join(f"{k}={v}" for k, v in scalars[:3])
    return f"{rung} {shown}".strip()


def _check_unchanged(paths: tuple[Path, ...], prints: list[str]) -> None:
    """Raise if an input checkpoint changed while repairing (it must never)."""
    for path, before in zip(paths, prints, strict=True):
        if fingerprint_checkpoint(str(path)) != before:
            raise HarnessError(f"{path} changed during the repair; it must not")
