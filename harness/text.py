"""Text made safe: short and printable for messages, plain for file names."""

from __future__ import annotations

import re


def shorten(text: str, width: int) -> str:
    """Collapse whitespace, escape control characters, cut to ``width`` characters.

    Model output can hold anything; a terminal must not act on it.
    """
    flat = re.sub(r"\s+", " ", text).strip()
    flat = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
    if not flat:
        return "(empty)"
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def safe_name(name: str) -> str:
    """Make a subject or suite name safe as a file name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "unnamed"
