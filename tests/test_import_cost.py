"""Importing the plugin, or asking pytest for help, loads no ML library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers", "vllm", "peft", "datasets")

PLUGIN_MODULES = """
import plugins.plugin
for name in plugins.plugin.pytest_plugins:
    __import__(name)
"""

PYTEST_HELP = """
import contextlib, io, pytest
with contextlib.redirect_stdout(io.StringIO()):
    code = pytest.main(["--help"])
assert code == 0, code
"""

REPORT = """
import json, sys
print(json.dumps(sorted(m for m in {heavy!r} + ("pydantic",) if m in sys.modules)))
"""


def _loaded_after(code: str, cwd: Path) -> list[str]:
    script = code + REPORT.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_plugin_modules_is_light(tmp_path: Path) -> None:
    # The plugin imports the library's modules at their top; pydantic (light)
    # loads with the settings, no ML library does.
    assert _loaded_after(PLUGIN_MODULES, tmp_path) in ([], ["pydantic"])


def test_pytest_help_loads_no_ml_library(tmp_path: Path) -> None:
    # Runs in an empty directory: no conftest, only installed plugins. The help
    # texts come from RunSettings, so pydantic (light) loads; no ML library does.
    assert _loaded_after(PYTEST_HELP, tmp_path) in ([], ["pydantic"])
