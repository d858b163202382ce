"""The generation-backend interface shared by HF, vLLM and test fakes."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from harness.progress import Advance


@runtime_checkable
class GenerationBackend(Protocol):
    """Greedy text generation over fully formatted prompts.

    ``tokenizer`` is exposed so callers can format prompts with the model's
    own chat template (see :class:`harness.prompts.PromptFormatter`).
    """

    name: str
    tokenizer: Any

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        """Return one greedy completion per prompt, in prompt order."""
        ...

    def close(self) -> None:
        """Free the model and any accelerator memory it holds."""
        ...


class ClosingBackend:
    """Mixin of the built-in backends: ``with backend: ...`` closes it on exit.

    vLLM's own tests wrap the engine the same way, so GPU memory is freed even
    when a measurement fails. Code that holds any :class:`GenerationBackend`
    (which only promises ``close``) uses ``contextlib.closing`` instead.
    """

    def close(self) -> None:
        """Free the model (subclasses override)."""

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
