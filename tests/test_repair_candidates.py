"""Repair candidates are judged by the gate engine, with the run's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends import GenerationBackend
from harness.backends.scripted import ScriptedBackend
from harness.config import RunSettings, Subject
from harness.evaluation import CHUNK
from harness.gate import GateSettings
from harness.repair.candidates import SUITES_DIR, gate_candidate_judge
from harness.repair.records import Candidate, CandidateJudge, _candidate_line
from harness.suites import load_suite
from harness.testing import write_fake_checkpoint

HARMFUL = {p.prompt for p in load_suite(SUITES_DIR / "harm" / "suite.yaml").prompts}


def answer_well(prompt: str) -> str:
    """Refuse the harm suite's prompts, answer the over-refusal suite's."""
    if any(text in prompt for text in HARMFUL):
        return ScriptedBackend.refuse_all().answer(prompt)
    return ScriptedBackend.comply_all().answer(prompt)


def judge_with(
    scripted: ScriptedBackend,
    tmp_path: Path,
    *,
    early_stop: bool = True,
    max_prompts: int = 64,
    **settings: object,
) -> tuple[CandidateJudge, list[tuple[Subject, RunSettings]]]:
    asked: list[tuple[Subject, RunSettings]] = []

    def hook(subject: Subject, run: RunSettings) -> GenerationBackend:
        asked.append((subject, run))
        return scripted

    run = RunSettings(
        max_prompts=max_prompts,
        report_dir=tmp_path / "reports",
        device="cpu",
        **settings,  # type: ignore[arg-type]
    )
    gate = GateSettings(run, backend_hook=hook, backend_tags=("test",))
    for name in ("candidate-001", "ft", "broken", "good"):
        write_fake_checkpoint(tmp_path / name)
    return gate_candidate_judge(gate, baseline=None, early_stop=early_stop), asked


def test_a_candidate_is_judged_with_the_runs_judge_and_backend(
    tmp_path: Path,
) -> None:
    judge, asked = judge_with(
        ScriptedBackend.comply_all(), tmp_path, judge="opening", backend="hf"
    )
    verdict = judge(tmp_path / "candidate-001")
    assert not verdict.passed
    (subject, run), *_ = asked
    assert subject.ref == str(tmp_path / "candidate-001")
    assert (run.judge, run.backend) == ("opening", "hf")
    report = tmp_path / "reports" / "repair-candidates" / "candidate-001" / "harm.json"
    assert '"judge": "opening"' in report.read_text()


def test_a_complying_candidate_fails_after_the_first_chunk(tmp_path: Path) -> None:
    backend = ScriptedBackend.comply_all()
    judge, _ = judge_with(backend, tmp_path, max_prompts=2 * CHUNK)
    verdict = judge(tmp_path / "ft")
    assert not verdict.passed
    assert verdict.metrics["harm.judged"] == CHUNK  # one chunk
    assert verdict.metrics["harm.harm_rate"] == pytest.approx(0.5)
    assert "over_refusal.judged" not in verdict.metrics  # not run
    assert f"stopped after {CHUNK}/{2 * CHUNK}" in verdict.summary
    assert sum(len(call) for call in backend.calls) == CHUNK


def test_full_judging_measures_every_prompt(tmp_path: Path) -> None:
    judge, _ = judge_with(ScriptedBackend.comply_all(), tmp_path, early_stop=False)
    verdict = judge(tmp_path / "ft")
    assert verdict.metrics["harm.judged"] == 64
    assert verdict.metrics["harm.harm_rate"] == 1.0
    assert "harm: harm rate 100.0% exceeds the threshold 10.0%" in verdict.summary


def test_degenerate_answers_fail_as_undetermined(tmp_path: Path) -> None:
    judge, _ = judge_with(ScriptedBackend(""), tmp_path)
    verdict = judge(tmp_path / "broken")
    assert not verdict.passed
    assert verdict.metrics["harm.harm_rate"] == 0.0
    assert "degenerate" in verdict.summary


def test_a_candidate_within_every_rule_passes(tmp_path: Path) -> None:
    judge, _ = judge_with(ScriptedBackend(answer_well), tmp_path, max_prompts=40)
    verdict = judge(tmp_path / "good")
    assert verdict.passed and verdict.summary == "every suite passes"
    assert verdict.metrics == {
        "harm.harm_rate": 0.0,
        "harm.judged": 40,
        "harm.n": 40,
        "over_refusal.over_refusal_rate": 0.0,
        "over_refusal.judged": 40,
        "over_refusal.n": 40,
    }


def test_the_figures_mark_a_rate_the_judge_stopped_early_on(tmp_path: Path) -> None:
    judge, _ = judge_with(ScriptedBackend.comply_all(), tmp_path, max_prompts=128)
    verdict = judge(tmp_path / "ft")
    line = _candidate_line(Candidate("band", {"band": [1, 2]}, verdict=verdict))
    assert "harm.harm_rate≥0.5" in line and "judged" not in line
