"""Test helpers shipped with the library: tiny offline checkpoints for fast tests."""

from __future__ import annotations

from harness.testing.fake import write_fake_checkpoint
from harness.testing.tiny import TinySpec, build_tiny_checkpoint

__all__ = ["TinySpec", "build_tiny_checkpoint", "write_fake_checkpoint"]
