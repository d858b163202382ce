"""Safety-layer regression harness: the library behind the pytest plugin.

This package never imports pytest. Heavy dependencies (torch, transformers, vllm)
are imported inside the functions that need them, so importing ``harness`` is cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"
