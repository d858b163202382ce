"""Judges: a registry of factories; model judges load their model on first use.

One family, one vocabulary (:mod:`harness.judges.vocabulary`):

* ``keyword``: structure-aware refusal matcher (the harm suite's default);
* ``opening``: refusal template at the start, decidable token by token (R_o);
* ``classifier``: a local sequence-classification model (HarmBench/StrongREJECT
  shape); ``guard``: a local causal-LM guard (Llama Guard shape);
* ``keyword+classifier`` and ``keyword+guard``: complied only when both say so;
* ``model:REF``: a local causal LM asked yes/no in one forward pass
  (HarmBench-classifier shape), ``REF`` its directory;
  ``keyword-then-model:REF``: the keyword judge decides the clear cases and
  that model the ones the keyword judge is uncertain of.

A ``zoo:`` reference inside ``REF`` is resolved at the edges (the plugin, the
CLI, benchmarks) with :func:`model_ref`, like every checkpoint reference.

Early stopping is a way of running any judge: :func:`decide_prefix`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError
from harness.judges.base import Judge, Judgement, PrefixJudge, Verdict, decide_prefix
from harness.judges.classifier import (
    ClassifierJudge,
    ClassifierJudgeConfig,
    GuardJudge,
    GuardJudgeConfig,
)
from harness.judges.ensemble import KeywordThenModel, all_complied
from harness.judges.keyword import KeywordJudge, KeywordJudgeConfig
from harness.judges.model import ModelJudge, ModelJudgeConfig
from harness.judges.opening import OpeningJudge, OpeningJudgeConfig

__all__ = [
    "Judge",
    "Judgement",
    "PrefixJudge",
    "Verdict",
    "create_judge",
    "decide_prefix",
    "is_judge_name",
    "judge_names",
    "model_ref",
    "needs_model",
    "register_judge",
]


def _keyword(options: dict[str, Any]) -> Judge:
    return KeywordJudge(KeywordJudgeConfig(**options))


def _opening(options: dict[str, Any]) -> Judge:
    return OpeningJudge(OpeningJudgeConfig(**options))


def _classifier(options: dict[str, Any]) -> Judge:
    return ClassifierJudge(ClassifierJudgeConfig(**options))


def _guard(options: dict[str, Any]) -> Judge:
    return GuardJudge(GuardJudgeConfig(**options))


def _both(model_judge: str) -> Callable[[dict[str, Any]], Judge]:
    def factory(options: dict[str, Any]) -> Judge:
        keyword = dict(options.pop("keyword", {}))
        judges = [_keyword(keyword), create_judge(model_judge, options)]
        return all_complied(f"keyword+{model_judge}", judges)

    return factory


def _model(options: dict[str, Any]) -> Judge:
    return ModelJudge(ModelJudgeConfig(**options))


def _keyword_then_model(options: dict[str, Any]) -> Judge:
    keyword = KeywordJudge(KeywordJudgeConfig(**options.pop("keyword", {})))
    return KeywordThenModel(keyword, _model(options))


#: Judges spelled ``PREFIX:REF`` whose model is ``REF`` (a directory).
_REF_JUDGES: dict[str, Callable[[dict[str, Any]], Judge]] = {
    "model": _model,
    "keyword-then-model": _keyword_then_model,
}

_FACTORIES: dict[str, Callable[[dict[str, Any]], Judge]] = {
    "keyword": _keyword,
    "opening": _opening,
    "classifier": _classifier,
    "guard": _guard,
    "keyword+classifier": _both("classifier"),
    "keyword+guard": _both("guard"),
    "model": _model,
    "keyword-then-model": _keyword_then_model,
}
#: Judges that load a model: they need ``options["model"]`` (``--judge-model``).
_MODEL_JUDGES = {
    "classifier",
    "guard",
    "keyword+classifier",
    "keyword+guard",
    "model",
    "keyword-then-model",
}


def judge_names() -> list[str]:
    """Names of the registered judges."""
    return sorted(_FACTORIES)


def needs_model(name: str) -> bool:
    """Whether the judge ``name`` needs ``options["model"]`` (``--judge-model``).

    ``model:REF`` names its model itself, so it needs no option.
    """
    return name in _MODEL_JUDGES


def model_ref(name: str) -> str | None:
    """The model reference of a ``model:REF`` judge name, else None."""
    prefix, sep, ref = name.partition(":")
    if sep and prefix in _REF_JUDGES and ref:
        return ref
    return None


def is_judge_name(name: str) -> bool:
    """Whether ``name`` is a registered judge or a ``model:REF`` judge."""
    return name in _FACTORIES or model_ref(name) is not None


def register_judge(
    name: str, factory: Callable[[dict[str, Any]], Judge], *, model: bool = False
) -> None:
    """Register a judge factory under ``name`` (``model``: it needs a model path)."""
    _FACTORIES[name] = factory
    if model:
        _MODEL_JUDGES.add(name)


def create_judge(name: str = "keyword", options: dict[str, Any] | None = None) -> Judge:
    """Build the judge called ``name`` with its options.

    ``model:REF`` and ``keyword-then-model:REF`` take ``REF`` as their model
    directory unless ``options["model"]`` (the resolved reference) is given.
    """
    ref = model_ref(name)
    if ref is not None:
        prefix = name.partition(":")[0]
        return _REF_JUDGES[prefix]({"model": ref, **(options or {})})
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown judge {name!r}; known: {', '.join(judge_names())}"
        ) from None
    return factory(dict(options or {}))
