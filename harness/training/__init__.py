"""Supervised fine-tuning with the transformers Trainer (zoo builds, later SPPFT).

Importing this package is cheap; torch and transformers load when training.
"""

from __future__ import annotations

from harness.training.examples import SFTExample, TokenizedExample, tokenize_example
from harness.training.sft import SFTConfig, SFTResult, train_sft

__all__ = [
    "SFTConfig",
    "SFTExample",
    "SFTResult",
    "TokenizedExample",
    "tokenize_example",
    "train_sft",
]
