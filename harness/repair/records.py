"""What a repair records: the judge's verdict, each candidate, the result.

Plain dataclasses with JSON views; the ladder (:mod:`harness.repair.ladder`)
fills them and the manifest (:mod:`harness.repair.output`) writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.layers import LayerRange


@dataclass(frozen=True)
class CandidateVerdict:
    """What the gate says of one checkpoint directory.

    ``metrics`` are the figures the verdict rests on (``harm_rate``,
    ``over_refusal``, ...), ``summary`` one line a report can quote.
    """

    passed: bool
    metrics: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    #: A suite that counts harmful answers failed: the candidate is still unsafe
    #: (not merely over-refusing), which tells a scaled repair to go stronger.
    unsafe: bool = False


#: Judge one candidate checkpoint directory with the gate's suites.
CandidateJudge = Callable[[Path], CandidateVerdict]


@dataclass(frozen=True)
class Utility:
    """How much of what the fine-tune taught a candidate keeps.

    ``loss`` is relative to the failing checkpoint's: with data, the increase
    of the held-out loss over the failing checkpoint's, as a share of it;
    without data, 1 - the answer agreement with the failing checkpoint on
    benign prompts. ``kind`` says which.
    """

    kind: str
    loss: float
    value: float
    reference: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Candidate:
    """One candidate checkpoint: its rung, parameters, verdict and cost."""

    rung: str
    params: dict[str, Any]
    path: Path | None = None
    verdict: CandidateVerdict | None = None
    utility: Utility | None = None
    utility_ok: bool = False
    build_s: float = 0.0
    judge_s: float = 0.0
    note: str = ""
    #: Replayed from the journal of an earlier, interrupted run.
    resumed: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.verdict and self.verdict.passed and self.utility_ok)

    @property
    def seconds(self) -> float:
        return self.build_s + self.judge_s

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no path: candidates are scratch)."""
        verdict = self.verdict
        return {
            "rung": self.rung,
            "params": self.params,
            "passed": self.passed,
            "safety_passed": None if verdict is None else verdict.passed,
            "metrics": {} if verdict is None else verdict.metrics,
            "summary": "" if verdict is None else verdict.summary,
            "unsafe": False if verdict is None else verdict.unsafe,
            "utility": None if self.utility is None else self.utility.as_dict(),
            "utility_ok": self.utility_ok,
            "build_s": round(self.build_s, 3),
            "judge_s": round(self.judge_s, 3),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        """The candidate :meth:`as_dict` wrote (without its directory)."""
        safety = data.get("safety_passed")
        verdict = (
            None
            if safety is None
            else CandidateVerdict(
                bool(safety),
                dict(data["metrics"]),
                str(data["summary"]),
                bool(data.get("unsafe", False)),
            )
        )
        utility = data.get("utility")
        return cls(
            rung=str(data["rung"]),
            params=dict(data["params"]),
            verdict=verdict,
            utility=None if utility is None else Utility(**utility),
            utility_ok=bool(data["utility_ok"]),
            build_s=float(data["build_s"]),
            judge_s=float(data["judge_s"]),
            note=str(data.get("note", "")),
        )


@dataclass
class RungRecord:
    """One rung of the ladder: its candidates, total time, and why it stopped."""

    rung: str
    candidates: list[Candidate] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "candidates": [c.as_dict() for c in self.candidates],
        }


@dataclass
class RepairResult:
    """The outcome: the kept candidate (``None``: no rung passed) and every rung."""

    kept: Candidate | None
    output: Path | None
    before: CandidateVerdict
    before_utility: Utility | None
    rungs: list[RungRecord]
    #: The band the search started from (``None``: nothing was tried).
    band: LayerRange | None
    band_source: str
    data_sha256: str | None
    notes: list[str] = field(default_factory=list)
    #: The HTML report (in the kept directory, or beside the failure record).
    report: Path | None = None

    @property
    def repaired(self) -> bool:
        return self.kept is not None

    def lines(self) -> list[str]:
        """A readable table of every candidate, for a terminal or a failure message."""
        band = (
            f"band {list(self.band)} ({self.band_source})" if self.band else "no band"
        )
        lines = [
            f"{band}; before: {_figures(self.before.metrics)} — {self.before.summary}"
        ]
        for rung in self.rungs:
            if rung.skipped:
                lines.append(f"  {rung.rung}: skipped ({rung.skipped})")
                continue
            lines.append(f"  {rung.rung}: {_cost(rung)}")
            for c in rung.candidates:
                lines.append("    " + _candidate_line(c))
        lines.extend(f"  note: {note}" for note in self.notes)
        if self.kept is not None:
            where = self.output or self.kept.path
            kept = f"kept {self.kept.rung} {self.kept.params}"
            lines.append(f"{kept} -> {where}")
        elif not self.before.passed:
            lines.append("no candidate passed")
        if self.report is not None:
            lines.append(f"report: {self.report}")
        return lines


#: Bookkeeping beside a suite's rate (the gate's candidate judge): how many of its
#: ``n`` prompts were judged before the judge stopped.
_COUNTS = (".judged", ".n")


def _figures(metrics: dict[str, float]) -> str:
    """``harm.harm_rate=0.05``; ``≥`` marks a rate the judge stopped early on."""
    shown = []
    for key, value in metrics.items():
        if key.endswith(_COUNTS):
            continue
        suite = key.rsplit(".", 1)[0]
        judged, n = metrics.get(f"{suite}.judged"), metrics.get(f"{suite}.n")
        mark = "≥" if judged is not None and n is not None and judged < n else "="
        shown.append(f"{key}{mark}{value:.3g}")
    return ", ".join(shown) or "no figures"


def _cost(rung: RungRecord) -> str:
    """A rung's wall time and how it split between building and judging."""
    build = sum(c.build_s for c in rung.candidates)
    judge = sum(c.judge_s for c in rung.candidates)
    count = len(rung.candidates)
    resumed = sum(c.resumed for c in rung.candidates)
    again = f", {resumed} from the journal" if resumed else ""
    return (
        f"{rung.seconds:.1f}s ({count} candidates{again}; "
        f"build {build:.1f}s, judge {judge:.1f}s)"
    )


def _candidate_line(c: Candidate) -> str:
    mark = "PASS" if c.passed else "fail"
    figures = _figures(c.verdict.metrics) if c.verdict else "not judged"
    utility = f"utility loss {c.utility.loss:+.3f}" if c.utility else "utility -"
    note = f" ({c.note})" if c.note else ""
    cost = f"build {c.build_s:.1f}s + judge {c.judge_s:.1f}s"
    return f"{mark} {c.params}: {figures}; {utility}; {cost}{note}"
