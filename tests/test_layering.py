"""Dependencies point down: the checkpoint layer reaches neither zoo nor backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import harness

ROOT = Path(harness.__file__).resolve().parent.parent

CHECK = """
import sys
import harness.{module}
above = sorted(m for m in sys.modules if m.startswith({above!r}))
assert not above, above
"""


def _imports_nothing_above(module: str, above: tuple[str, ...]) -> None:
    subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module, above=above)],
        cwd=ROOT,
        check=True,
        timeout=120,
    )


def test_checkpoint_imports_neither_zoo_nor_backends() -> None:
    _imports_nothing_above("checkpoint", ("harness.zoo", "harness.backends"))


def test_localization_imports_no_backend_and_no_suite_loader() -> None:
    above = ("harness.zoo", "harness.backends", "harness.suites")
    for module in ("localization.api", "localization.over_rejection"):
        _imports_nothing_above(module, above)
