"""Repository-level test settings only; the plugin registers via its entry point."""

from __future__ import annotations

import os

# Model hubs are unreachable here and in CI: fail fast instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SAFETY_HARNESS_PROGRESS", "0")
