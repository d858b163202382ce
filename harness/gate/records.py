"""Report records: what one suite's outcome contributes to the run's reports.

An entry is plain JSON data (it rides on a test report from an xdist worker to
the controller). It holds the figures of the terminal table and the JUnit
properties, and under ``"html"`` the pieces of the HTML report
(:mod:`harness.html_report` models, dumped).
"""

from __future__ import annotations

from typing import Any

from harness.config import Subject
from harness.evaluation import Evaluation, PromptResult, spread_over_categories
from harness.gate.rules import GateResult
from harness.html_report import Example, SuiteResult
from harness.layers import LayerRange
from harness.metrics import wilson_interval

#: The JUnit name of each counted verdict's rate.
RATE_KEYS = {"complied": "harm_rate", "refused": "over_refusal_rate"}
UNDET = "undetermined"


def prompt_entry(
    evaluation: Evaluation, gate: GateResult, subject: Subject
) -> dict[str, Any]:
    """The entry of a prompt suite (harm, over-refusal)."""
    counted = gate.counted.value
    rate_key = RATE_KEYS.get(counted, f"{counted}_rate")
    low, high = gate.interval
    figures: dict[str, Any] = {
        rate_key: round(gate.rate, 6),
        "ci95": f"[{low:.4f}, {high:.4f}]",
        "ci95_low": round(low, 6),
        "ci95_high": round(high, 6),
        "n": gate.n,
        counted: gate.count,
        "undetermined": gate.undetermined,
    }
    if gate.threshold is not None:
        figures["threshold"] = gate.threshold
    for verdict, c in gate.paired.items():
        figures[f"baseline_{verdict}_rate"] = round(c.baseline_rate, 6)
        figures[f"mcnemar_p[{verdict}]"] = round(c.p_value, 6)
    suite_result = SuiteResult(
        suite=gate.suite,
        passed=gate.passed,
        figures=figures,
        interval=gate.interval,
        message="\n\n".join(gate.failures),
    )
    return {
        "kind": "prompts",
        "subject": evaluation.subject,
        "ref": subject.ref,
        "suite": gate.suite,
        "measures": gate.rate_name,
        "counted": counted,
        "rate_key": rate_key,
        "summary": _cell(gate.count, gate.n, gate.undetermined),
        "categories": _categories(evaluation, counted),
        "threshold": gate.threshold,
        "passed": gate.passed,
        "figures": figures,
        "paired": {
            k: {"delta": c.delta, "p_value": c.p_value} for k, c in gate.paired.items()
        },
        "report": str(evaluation.report_path) if evaluation.report_path else None,
        "disagreement": evaluation.disagreement,
        "html": {
            "suite": suite_result.model_dump(mode="json"),
            "flips": {
                gate.suite + ("" if k == counted else f" ({k})"): c.model_dump(
                    mode="json"
                )
                for k, c in gate.paired.items()
                if k == counted or c.gained or c.lost
            },
            "worst_examples": _examples(evaluation, gate),
            "answers": answers(evaluation),
        },
    }


def _cell(count: int, n: int, undetermined: int) -> dict[str, Any]:
    low, high = wilson_interval(count, n)
    return {
        "count": count,
        "n": n,
        "undetermined": undetermined,
        "rate": count / n if n else 0.0,
        "ci95_low": low,
        "ci95_high": high,
    }


def _categories(evaluation: Evaluation, counted: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for r in evaluation.results:
        groups.setdefault(r.record.category, []).append(r.judgement.verdict.value)
    return {
        name: _cell(
            verdicts.count(counted), len(verdicts), verdicts.count("undetermined")
        )
        for name, verdicts in sorted(groups.items())
    }


def _examples(evaluation: Evaluation, gate: GateResult) -> list[dict[str, Any]]:
    """The counted answers (and the undetermined ones when degenerate), quoted."""
    k = evaluation.example_count
    picked: list[PromptResult] = (
        evaluation.worst(k)
        if gate.counted.value == "complied"
        else spread_over_categories(
            [r for r in evaluation.results if r.judgement.verdict is gate.counted], k
        )
    )
    if gate.undetermined > gate.undetermined_limit * gate.n:
        stuck = [
            r for r in evaluation.results if r.judgement.verdict.value == "undetermined"
        ]
        picked += spread_over_categories(stuck, k)
    return [
        Example(
            id=r.record.id,
            prompt=r.record.prompt,
            response=r.response[:400],
            verdict=r.judgement.verdict.value,
            category=f"{gate.suite} · {r.record.category}",
        ).model_dump(mode="json")
        for r in picked
    ]


def answers(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Every prompt's answer and verdict, for the report's browsable table."""
    return [
        {
            "suite": evaluation.suite,
            "id": r.record.id,
            "category": r.record.category,
            "prompt": r.record.prompt,
            "response": r.response,
            "verdict": r.judgement.verdict.value,
            "reason": r.judgement.reason,
        }
        for r in evaluation.results
    ]


def junit_properties(entry: dict[str, Any]) -> list[tuple[str, Any]]:
    """The figures of one entry as JUnit ``user_properties``."""
    props: list[tuple[str, Any]] = [
        ("subject", entry["subject"]),
        ("suite", entry["suite"]),
        ("passed", entry["passed"]),
    ]
    props += list(entry.get("figures", {}).items())
    rate_key = entry.get("rate_key")
    if rate_key:
        props += [
            (f"{rate_key}[{name}]", round(cell["rate"], 6))
            for name, cell in entry.get("categories", {}).items()
        ]
    if entry.get("report"):
        props.append(("report", entry["report"]))
    return props


def layers_entry(
    subject: Subject,
    suite: str,
    *,
    band: LayerRange | None,
    bands: Any,
    drift: dict[str, Any] | None,
    assessment: Any,
) -> dict[str, Any]:
    """The entry of the safety-layer suite: drift figures and band checks."""
    found = drift or {}
    weights, states = found.get("weights"), found.get("representation")
    gap = found.get("gap")
    failing = [f for f in assessment.findings if f.fails]
    figures: dict[str, Any] = {"band": str(list(band)) if band else "none"}
    if weights is not None:
        figures.update(_extreme("max_weight_drift_attention", weights.attention, max))
        figures.update(_extreme("max_weight_drift_mlp", weights.mlp, max))
    if states is not None:
        figures.update(
            _extreme("min_cos_malicious", _analysed(states.malicious_cos), min)
        )
        figures.update(_extreme("min_cos_normal", _analysed(states.normal_cos), min))
    if gap is not None:
        figures["gap_rise_deg"] = round(gap.subject_rise_deg, 3)
        figures["baseline_gap_rise_deg"] = round(gap.baseline_rise_deg, 3)
    figures["failing_findings"] = len(failing)
    passed = not failing and not bands.problems
    messages = [*bands.problems, *(f.message for f in assessment.findings)]
    message = "\n".join(messages)
    suite_result = SuiteResult(
        suite=suite, passed=passed, figures=figures, message=message
    )
    entry: dict[str, Any] = finite(
        {
            "kind": "layers",
            "subject": subject.name,
            "ref": subject.ref,
            "suite": suite,
            "measures": "drift",
            "threshold": None,
            "passed": passed,
            "figures": figures,
            "notes": [f.message for f in failing] + list(bands.problems),
            "html": {
                "suite": suite_result.model_dump(mode="json"),
                "gap": _dump(gap),
                "weight_drift": _dump(weights),
                "representation_drift": _dump(states),
                "drift": assessment.model_dump(mode="json"),
                "band": list(band) if band else None,
            },
        }
    )
    return entry


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def _analysed(values: list[float]) -> list[float]:
    """Leave out the final layer (read after the final norm, SPEC §2.2)."""
    return values[:-1] if len(values) > 2 else values


def _extreme(name: str, values: list[Any], pick: Any) -> dict[str, Any]:
    known = [(v, k) for k, v in enumerate(values) if v is not None and v == v]
    if not known:
        return {name: None}
    value, layer = pick(known)
    return {name: round(value, 6), f"{name}_layer": layer}


def finite(data: Any) -> Any:
    """``data`` with NaN and infinities replaced by ``None`` (strict JSON)."""
    if isinstance(data, float):
        return data if data == data and abs(data) != float("inf") else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data
