"""Fake checkpoint directories: they pass vetting but hold no real weights.

Use them with a scripted backend (see ``pytest_safety_create_backend``) to test
the plugin without loading a model.
"""

from __future__ import annotations

import json
from pathlib import Path


def write_fake_checkpoint(path: Path | str, *, pickled: bool = False) -> Path:
    """Create ``path`` with a ``config.json`` and an empty weights file.

    Args:
        path: the directory to create.
        pickled: write ``pytorch_model.bin`` instead of ``model.safetensors``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    weights = "pytorch_model.bin" if pickled else "model.safetensors"
    (path / weights).write_bytes(b"")
    return path
