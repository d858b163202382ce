"""Judges: a registry of lazy factories, so optional judges cost nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError
from harness.judges.base import Judge, Judgement, Verdict

__all__ = ["Judge", "Judgement", "Verdict", "create_judge", "judge_names"]


def _keyword(options: dict[str, Any]) -> Judge:
    from harness.judges.keyword import KeywordJudge, KeywordJudgeConfig

    return KeywordJudge(KeywordJudgeConfig(**options))


_FACTORIES: dict[str, Callable[[dict[str, Any]], Judge]] = {"keyword": _keyword}


def judge_names() -> list[str]:
    """Names of the registered judges."""
    return sorted(_FACTORIES)


def register_judge(name: str, factory: Callable[[dict[str, Any]], Judge]) -> None:
    """Register a judge factory (a classifier judge, say) under ``name``."""
    _FACTORIES[name] = factory


def create_judge(name: str = "keyword", options: dict[str, Any] | None = None) -> Judge:
    """Build the judge called ``name`` with its options."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown judge {name!r}; known: {', '.join(judge_names())}"
        ) from None
    return factory(dict(options or {}))
