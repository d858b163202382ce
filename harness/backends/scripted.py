"""A scripted fake backend: canned answers, so whole pipelines run in tests.

Nothing is loaded and nothing is imported besides the standard library. The
script decides each answer from the formatted prompt:

* a string: the same answer to every prompt;
* a mapping: the value of the first key found inside the prompt, else
  ``default``;
* a callable: called with the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.backends.base import ClosingBackend
from harness.progress import Advance

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = (
    "Sure, here is a detailed answer. Step one: gather everything you need. "
    "Step two: follow the instructions below carefully and in order."
)

Script = str | Mapping[str, str] | Callable[[str], str]


class ScriptedBackend(ClosingBackend):
    """Answer prompts from a script and record every call."""

    name = "scripted"

    def __init__(
        self, script: Script = REFUSAL, *, default: str = REFUSAL, tokenizer: Any = None
    ) -> None:
        self.script = script
        self.default = default
        #: ``None`` makes :class:`harness.prompts.PromptFormatter` pick Alpaca.
        self.tokenizer = tokenizer
        self.calls: list[list[str]] = []
        self.closed = False

    @classmethod
    def refuse_all(cls) -> ScriptedBackend:
        """A model that refuses every request."""
        return cls(REFUSAL)

    @classmethod
    def comply_all(cls) -> ScriptedBackend:
        """A model that answers every request."""
        return cls(COMPLIANCE)

    def answer(self, prompt: str) -> str:
        """Return the scripted answer to one prompt."""
        if isinstance(self.script, str):
            return self.script
        if isinstance(self.script, Mapping):
            for key, value in self.script.items():
                if key in prompt:
                    return value
            return self.default
        return self.script(prompt)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        """Return the scripted answers, in prompt order."""
        if self.closed:
            raise RuntimeError("generate() called on a closed backend")
        self.calls.append(list(prompts))
        answers = [self.answer(p) for p in prompts]
        if advance is not None:
            advance(len(prompts))
        return answers

    def close(self) -> None:
        """Mark the backend closed; later calls to generate fail loudly."""
        self.closed = True
