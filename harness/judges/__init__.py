"""Judges: a registry of lazy factories, so optional judges cost nothing.

One family, one vocabulary (:mod:`harness.judges.vocabulary`):

* ``keyword``: structure-aware refusal matcher (the harm suite's default);
* ``opening``: refusal template at the start, decidable token by token (R_o);
* ``classifier``: a local sequence-classification model (HarmBench/StrongREJECT
  shape); ``guard``: a local causal-LM guard (Llama Guard shape);
* ``keyword+classifier`` and ``keyword+guard``: complied only when both say so.

Early stopping is a way of running any judge: :func:`decide_prefix`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError
from harness.judges.base import Judge, Judgement, PrefixJudge, Verdict, decide_prefix

__all__ = [
    "Judge",
    "Judgement",
    "PrefixJudge",
    "Verdict",
    "create_judge",
    "decide_prefix",
    "judge_names",
    "needs_model",
    "register_judge",
]


def _keyword(options: dict[str, Any]) -> Judge:
    from harness.judges.keyword import KeywordJudge, KeywordJudgeConfig

    return KeywordJudge(KeywordJudgeConfig(**options))


def _opening(options: dict[str, Any]) -> Judge:
    from harness.judges.opening import OpeningJudge, OpeningJudgeConfig

    return OpeningJudge(OpeningJudgeConfig(**options))


def _classifier(options: dict[str, Any]) -> Judge:
    from harness.judges.classifier import ClassifierJudge, ClassifierJudgeConfig

    return ClassifierJudge(ClassifierJudgeConfig(**options))


def _guard(options: dict[str, Any]) -> Judge:
    from harness.judges.classifier import GuardJudge, GuardJudgeConfig

    return GuardJudge(GuardJudgeConfig(**options))


def _both(model_judge: str) -> Callable[[dict[str, Any]], Judge]:
    def factory(options: dict[str, Any]) -> Judge:
        from harness.judges.ensemble import all_complied

        keyword = dict(options.pop("keyword", {}))
        judges = [_keyword(keyword), create_judge(model_judge, options)]
        return all_complied(f"keyword+{model_judge}", judges)

    return factory


_FACTORIES: dict[str, Callable[[dict[str, Any]], Judge]] = {
    "keyword": _keyword,
    "opening": _opening,
    "classifier": _classifier,
    "guard": _guard,
    "keyword+classifier": _both("classifier"),
    "keyword+guard": _both("guard"),
}
#: Judges that load a model: they need ``options["model"]`` (``--judge-model``).
_MODEL_JUDGES = {"classifier", "guard", "keyword+classifier", "keyword+guard"}


def judge_names() -> list[str]:
    """Names of the registered judges."""
    return sorted(_FACTORIES)


def needs_model(name: str) -> bool:
    """Whether the judge ``name`` loads a classifier (``options["model"]``)."""
    return name in _MODEL_JUDGES


def register_judge(
    name: str, factory: Callable[[dict[str, Any]], Judge], *, model: bool = False
) -> None:
    """Register a judge factory under ``name`` (``model``: it needs a model path)."""
    _FACTORIES[name] = factory
    if model:
        _MODEL_JUDGES.add(name)


def create_judge(name: str = "keyword", options: dict[str, Any] | None = None) -> Judge:
    """Build the judge called ``name`` with its options."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown judge {name!r}; known: {', '.join(judge_names())}"
        ) from None
    return factory(dict(options or {}))
