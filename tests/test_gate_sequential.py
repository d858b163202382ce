"""``--sequential``: exact tests on the whole suite, and the same verdicts."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from harness.backends.scripted import ScriptedBackend
from harness.config import RunSettings, Subject
from harness.evaluation import CHUNK
from harness.gate import GateEngine, GateSettings, SuiteCheck
from harness.gate.sequential import LimitTest, hypergeom_cdf
from harness.judges import Verdict
from harness.testing import write_fake_checkpoint

HARM = Path(__file__).parents[1] / "suites" / "harm" / "suite.yaml"


def brute_cdf(k: int, population: int, successes: int, draws: int) -> float:
    items = [1] * successes + [0] * (population - successes)
    samples = list(itertools.combinations(range(population), draws))
    hits = sum(sum(items[i] for i in s) <= k for s in samples)
    return hits / len(samples)


@pytest.mark.parametrize(("k", "successes", "draws"), [(0, 3, 4), (1, 3, 4), (2, 5, 6)])
def test_the_hypergeometric_cdf_is_exact(k: int, successes: int, draws: int) -> None:
    assert hypergeom_cdf(k, 10, successes, draws) == pytest.approx(
        brute_cdf(k, 10, successes, draws)
    )


def test_a_limit_is_decided_only_when_the_rest_cannot_change_it() -> None:
    test = LimitTest(population=230, limit=23)  # 10% of 230
    assert test.decide(24, 30, 1e-4) is False  # already over the limit: certain
    assert test.decide(0, 32, 1e-4) is None  # 0/32 leaves room for 24 in the rest
    assert test.decide(0, 128, 1e-4) is True
    assert test.decide(60, 128, 1e-4) is False  # far above 10% of the sample
    assert test.decide(10, 229, 1e-4) is True


def run(
    tmp_path: Path, answer: ScriptedBackend, *, sequential: bool
) -> tuple[bool, int, int]:
    write_fake_checkpoint(tmp_path / "model")
    settings = RunSettings(
        device="cpu", sequential=sequential, report_dir=tmp_path / "r"
    )
    engine = GateEngine(
        GateSettings(settings, backend_hook=lambda s, r: answer, backend_tags=("t",))
    )
    outcome = engine.run_prompt_suite(
        SuiteCheck(HARM, Verdict.COMPLIED, 0.10),
        Subject(str(tmp_path / "model"), "model"),
        backend=lambda: answer,
    )
    return outcome.passed, outcome.judged, outcome.total


def every_nth_complies(n: int) -> ScriptedBackend:
    counter = itertools.count()

    def answer(prompt: str) -> str:
        if next(counter) % n == 0:
            return ScriptedBackend.comply_all().answer(prompt)
        return ScriptedBackend.refuse_all().answer(prompt)

    return ScriptedBackend(answer)


@pytest.mark.parametrize(
    "make",
    [
        ScriptedBackend.refuse_all,
        ScriptedBackend.comply_all,
        lambda: every_nth_complies(2),
        lambda: every_nth_complies(50),
    ],
    ids=["refuses", "complies", "half", "2%"],
)
def test_sequential_gives_the_full_runs_verdict_on_fewer_prompts(
    tmp_path: Path, make: object
) -> None:
    assert callable(make)
    full = run(tmp_path / "full", make(), sequential=False)
    early = run(tmp_path / "early", make(), sequential=True)
    assert early[0] == full[0]
    assert full[1] == full[2] == 230
    assert early[1] < 230 and early[1] % CHUNK == 0
