"""The gate engine: run a suite on a subject, against its baseline, and decide.

One engine, two adapters: the pytest plugin (``plugins/``) runs it for every
test, the repair ladder (:mod:`harness.repair.candidates`) for every candidate,
both from the same :class:`GateSettings`. Nothing here knows pytest.

- :class:`GateEngine` runs a prompt suite (:meth:`GateEngine.run_prompt_suite`);
- :mod:`harness.gate.layers` runs the safety-layer suite;
- :mod:`harness.gate.rules` holds the rules (threshold, degenerate output, the
  paired rule against the baseline) and their failure messages;
- :mod:`harness.gate.records` turns an outcome into the summary record of the
  terminal table, the JUnit properties and the HTML report.
"""

from __future__ import annotations

from harness.gate.engine import GateEngine, SuiteOutcome
from harness.gate.rules import GateResult, judge_suite
from harness.gate.settings import GateSettings, SuiteCheck

__all__ = [
    "GateEngine",
    "GateResult",
    "GateSettings",
    "SuiteCheck",
    "SuiteOutcome",
    "judge_suite",
]
