"""Does freezing the safety band protect more than freezing another band?

SPPFT (paper §4) is trained under several *conditions*, which blocks are
frozen, on one training mix and several seeds; a seed fixes the safety
demonstrations, the batch order and the initial state, so two conditions of
the same seed differ only in what was frozen. Every trained model answers
the full harm and over-refusal suites, prompt by prompt, and two conditions
are compared on the same (seed, prompt) pairs:

* the exact McNemar test on the discordant pairs pooled over seeds;
* the difference of the rates with a 95% interval from a bootstrap that
  resamples *prompts* (all seeds of a prompt together), since a prompt that
  one model answers tends to be answered under every seed;
* the smallest difference the design detects with 80% power at that
  discordance (Connor 1987), so "no difference found" says how large a
  difference it could have missed.

Finished (condition, seed) runs are appended to a JSONL file as they end; a
rerun skips them, so a study killed midway resumes.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.layers import LayerRange
from harness.metrics import Z_95, mcnemar_exact
from harness.repair.settings import SPPFTSettings
from harness.repair.sppft import train_sppft
from harness.training import SFTExample

#: z of 80% power, one-sided.
Z_POWER_80 = 0.8416212335729143

#: ``{suite: {prompt id: verdict}}`` of one trained model.
Verdicts = dict[str, dict[str, str]]
#: Judges one checkpoint directory on every suite.
PromptJudge = Callable[[Path], Verdicts]


@dataclass(frozen=True)
class Condition:
    """What is frozen during training: ``band`` ``None`` is full fine-tuning.

    ``random_width`` set: a contiguous band of that width drawn per seed
    (:func:`random_band`) outside ``avoid``.
    """

    name: str
    band: LayerRange | None = None
    random_width: int | None = None
    avoid: tuple[LayerRange, ...] = ()

    def band_for(self, seed: int, layers: int) -> LayerRange | None:
        if self.random_width is None:
            return self.band
        return random_band(layers, self.random_width, self.avoid, seed)


def random_band(
    layers: int, width: int, avoid: Sequence[LayerRange], seed: int
) -> LayerRange:
    """A contiguous ``width``-block band that overlaps none of ``avoid``, drawn
    uniformly from those that fit, with ``seed``.

    Raises:
        ValueError: no such band fits in ``layers`` blocks.
    """
    starts = [
        s
        for s in range(layers - width + 1)
        if all(s + width - 1 < a.first or s > a.last for a in avoid)
    ]
    if not starts:
        raise ValueError(f"no {width}-block band of {layers} avoids {list(avoid)}")
    start = random.Random(seed).choice(starts)
    return LayerRange(start, start + width - 1)


@dataclass(frozen=True)
class StudyRun:
    """One trained condition under one seed, judged prompt by prompt."""

    condition: str
    seed: int
    band: list[int] | None
    verdicts: Verdicts
    train_s: float
    judge_s: float
    final_loss: float | None
    frozen_verified: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "seed": self.seed,
            "band": self.band,
            "train_s": self.train_s,
            "judge_s": self.judge_s,
            "final_loss": self.final_loss,
            "frozen_verified": self.frozen_verified,
            "verdicts": self.verdicts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyRun:
        return cls(
            condition=data["condition"],
            seed=int(data["seed"]),
            band=data["band"],
            verdicts={s: dict(v) for s, v in data["verdicts"].items()},
            train_s=float(data["train_s"]),
            judge_s=float(data["judge_s"]),
            final_loss=data.get("final_loss"),
            frozen_verified=int(data.get("frozen_verified", 0)),
        )


def load_runs(path: Path) -> list[StudyRun]:
    """The finished runs recorded in ``path`` (none when it does not exist)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [StudyRun.from_dict(json.loads(line)) for line in lines if line.strip()]


def run_study(
    baseline: str,
    data: Sequence[SFTExample],
    conditions: Sequence[Condition],
    seeds: Sequence[int],
    settings: SPPFTSettings,
    judge: PromptJudge,
    out_dir: Path,
    *,
    layers: int,
    log: Callable[[str], None] = print,
) -> list[StudyRun]:
    """Train and judge every (seed, condition) not yet in ``out_dir/runs.jsonl``.

    Seeds go in the outer loop, so a study stopped early holds every condition
    of its first seeds: the pairs a comparison needs.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / "runs.jsonl"
    runs = load_runs(record)
    done = {(r.condition, r.seed) for r in runs}
    for seed in seeds:
        for condition in conditions:
            if (condition.name, seed) in done:
                continue
            band = condition.band_for(seed, layers)
            log(f"{condition.name}, seed {seed}: training, frozen {_band_text(band)}")
            work = out_dir / f"work-{condition.name}-{seed}"
            trained = train_sppft(
                baseline,
                data,
                band,
                settings.model_copy(update={"seed": seed}),
                checkpoint_dir=work / "checkpoints",
            )
            trained.model.save_pretrained(work / "model", safe_serialization=True)
            trained.tokenizer.save_pretrained(work / "model")
            del trained.model
            started = time.perf_counter()
            verdicts = judge(work / "model")
            run = StudyRun(
                condition=condition.name,
                seed=seed,
                band=None if band is None else list(band),
                verdicts=verdicts,
                train_s=round(trained.sft.seconds, 1),
                judge_s=round(time.perf_counter() - started, 1),
                final_loss=trained.sft.losses[-1] if trained.sft.losses else None,
                frozen_verified=len(trained.verified),
            )
            with record.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(run.as_dict()) + "\n")
            shutil.rmtree(work, ignore_errors=True)
            runs.append(run)
            log(f"{condition.name}, seed {seed}: {summary_line(run)}")
    return runs


def _band_text(band: LayerRange | None) -> str:
    return "nothing" if band is None else f"[{band.first}, {band.last}]"


def summary_line(run: StudyRun) -> str:
    parts = [
        f"{suite} {sum(v == 'complied' for v in answers.values())} complied, "
        f"{sum(v == 'refused' for v in answers.values())} refused of {len(answers)}"
        for suite, answers in run.verdicts.items()
    ]
    return "; ".join(parts) + f" (train {run.train_s:.0f} s, judge {run.judge_s:.0f} s)"


def outcomes(
    runs: Iterable[StudyRun], condition: str, suite: str, counted: str
) -> dict[tuple[int, str], bool]:
    """``{(seed, prompt id): verdict == counted}`` of one condition on one suite."""
    return {
        (run.seed, prompt): verdict == counted
        for run in runs
        if run.condition == condition
        for prompt, verdict in run.verdicts.get(suite, {}).items()
    }


@dataclass(frozen=True)
class PairedComparison:
    """Condition ``a`` against ``b`` on the same (seed, prompt) pairs."""

    a: str
    b: str
    pairs: int
    seeds: int
    a_count: int
    b_count: int
    only_a: int
    only_b: int
    p_value: float
    #: (a_count − b_count) / pairs, with its 95% prompt-bootstrap interval.
    difference: float
    low: float
    high: float
    #: Smallest |difference| detected with 80% power at α 0.05 here.
    detectable: float
    extra: dict[str, Any] = field(default_factory=dict)


def compare(
    a: Mapping[tuple[int, str], bool],
    b: Mapping[tuple[int, str], bool],
    *,
    names: tuple[str, str] = ("a", "b"),
    resamples: int = 4000,
    seed: int = 0,
) -> PairedComparison:
    """Compare two conditions on the (seed, prompt) pairs both have.

    Raises:
        ValueError: the two share no pair.
    """
    keys = sorted(set(a) & set(b))
    if not keys:
        raise ValueError(f"{names[0]} and {names[1]} share no (seed, prompt) pair")
    only_a = sum(a[k] and not b[k] for k in keys)
    only_b = sum(b[k] and not a[k] for k in keys)
    by_prompt: dict[str, int] = {}
    for key in keys:
        by_prompt[key[1]] = by_prompt.get(key[1], 0) + int(a[key]) - int(b[key])
    low, high = _bootstrap_interval(
        list(by_prompt.values()), len(keys), resamples, seed
    )
    n = len(keys)
    return PairedComparison(
        a=names[0],
        b=names[1],
        pairs=n,
        seeds=len({k[0] for k in keys}),
        a_count=sum(a[k] for k in keys),
        b_count=sum(b[k] for k in keys),
        only_a=only_a,
        only_b=only_b,
        p_value=mcnemar_exact(only_a, only_b),
        difference=(only_a - only_b) / n,
        low=low,
        high=high,
        detectable=detectable_difference((only_a + only_b) / n, n),
    )


def _bootstrap_interval(
    per_prompt: Sequence[int], pairs: int, resamples: int, seed: int
) -> tuple[float, float]:
    """95% percentile interval of Σ(per-prompt differences)/pairs over prompts
    drawn with replacement."""
    rng = random.Random(seed)
    count = len(per_prompt)
    totals = sorted(
        sum(per_prompt[rng.randrange(count)] for _ in range(count)) / pairs
        for _ in range(resamples)
    )
    return totals[int(0.025 * resamples)], totals[int(0.975 * resamples) - 1]


def detectable_difference(discordance: float, pairs: int) -> float:
    """The difference of paired proportions that McNemar's test (two-sided α
    0.05) finds with 80% power in ``pairs`` pairs whose discordant share is
    ``discordance`` (Connor 1987: n·δ² = (z_α·√ψ + z_β·√(ψ − δ²))²), by
    bisection; ``discordance`` itself when even that is not enough."""
    psi = max(discordance, 1.0 / pairs)
    low, high = 0.0, psi
    for _ in range(60):
        delta = (low + high) / 2
        need = (
            Z_95 * math.sqrt(psi) + Z_POWER_80 * math.sqrt(max(psi - delta**2, 0.0))
        ) ** 2
        if pairs * delta**2 >= need:
            high = delta
        else:
            low = delta
    return high
