"""One open backend per model for a whole session.

Loading a model for generation is the expensive part of a gate on a small
suite: vLLM's engine takes about a minute to start on a CPU. A
:class:`BackendPool` opens each (backend, checkpoint, settings) once and hands
out leases whose ``close`` does nothing; the pool closes the engines when the
session ends (:meth:`BackendPool.close`), or the least recently used one when
more than ``max_open`` would be open (GPU memory holds only so many engines).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from harness.backends.base import ClosingBackend, GenerationBackend
from harness.progress import Advance


class LeasedBackend(ClosingBackend):
    """A pooled backend as its users see it: ``close`` leaves it open."""

    def __init__(self, inner: GenerationBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.tokenizer: Any = inner.tokenizer

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        advance: Advance | None = None,
    ) -> list[str]:
        """Generate with the pooled backend."""
        return self.inner.generate(
            prompts, max_new_tokens=max_new_tokens, advance=advance
        )

    def close(self) -> None:
        """Return the lease; the pool keeps the backend open."""


class BackendPool(ClosingBackend):
    """Open backends by key, each once, closed together at the end."""

    def __init__(self, max_open: int = 2) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self._open: OrderedDict[Hashable, GenerationBackend] = OrderedDict()
        #: How many backends the pool has opened (a test of reuse counts them).
        self.opened = 0

    def lease(
        self, key: Hashable, open_backend: Callable[[], GenerationBackend]
    ) -> LeasedBackend:
        """The backend under ``key``, opened by ``open_backend`` the first time."""
        backend = self._open.get(key)
        if backend is None:
            while len(self._open) >= self.max_open:
                _, oldest = self._open.popitem(last=False)
                oldest.close()
            backend = open_backend()
            self.opened += 1
            self._open[key] = backend
        self._open.move_to_end(key)
        return LeasedBackend(backend)

    def __len__(self) -> int:
        return len(self._open)

    def close(self) -> None:
        """Close every open backend (the pool can be used again after)."""
        while self._open:
            _, backend = self._open.popitem(last=False)
            backend.close()
