"""The zoo measures models through the suites' pipeline and keeps its manifest shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.backends.scripted import COMPLIANCE, REFUSAL, ScriptedBackend
from harness.corpus import DataPrompt
from harness.zoo import evaluate
from harness.zoo.recipes import EvalSpec


def test_measure_keeps_the_manifest_format() -> None:
    prompts = [DataPrompt(id=f"h{i}", prompt=f"harmful {i}") for i in range(4)]
    backend = ScriptedBackend({"harmful 0": COMPLIANCE}, default=REFUSAL)
    eval_set = evaluate.EvalSet("harmful", prompts, max_new_tokens=8)
    with backend:
        measured = evaluate._measure(backend, _judge(), eval_set, "tiny")
    assert backend.closed
    assert measured["n"] == 4 and measured["complied"] == 1
    assert measured["max_new_tokens"] == 8 and measured["seconds"] >= 0
    assert [s["verdict"] for s in measured["samples"]] == [
        "complied",
        "refused",
        "refused",
    ]
    assert measured["samples"][0]["prompt"] == "harmful 0"


def test_evaluate_model_closes_its_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = ScriptedBackend.refuse_all()
    monkeypatch.setattr(
        "harness.backends.create_backend", lambda *args, **kwargs: backend
    )
    sets = [evaluate.EvalSet("edgy", [DataPrompt(id="e", prompt="edgy")], 8)]
    monkeypatch.setattr(evaluate, "eval_sets", lambda spec: sets)
    metrics = evaluate.evaluate_model(tmp_path / "m", _spec())
    assert metrics["edgy"]["refused"] == 1 and backend.closed


def _judge() -> Any:
    from harness.judges.keyword import KeywordJudge

    return KeywordJudge()


def _spec() -> EvalSpec:
    return EvalSpec()
