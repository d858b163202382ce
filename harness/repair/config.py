"""The ladder's knobs from a YAML file (``--config`` / ``--repair-config``).

Every field of :class:`~harness.repair.ladder.RepairSettings` may be set, and
``sppft:`` takes the fields of :class:`~harness.repair.sppft.SPPFTSettings`
(the paper's Table 6 by default); what is left out keeps its default::

    rungs: [band, interpolate, sppft]
    band_lambdas: [0.0, 0.5]
    every_rung: true            # figures for every rung, side by side
    sppft:
      learning_rate: 3.0e-4     # Llama-2's
      max_steps: 80

Unknown fields and bad values are errors that name the file and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from harness.errors import ConfigError
from harness.io import describe_errors, read_yaml_mapping
from harness.repair.ladder import RepairSettings
from harness.repair.rungs import RUNGS


def load_repair_settings(path: str | Path) -> RepairSettings:
    """Read ``path`` into :class:`RepairSettings` (defaults for what is absent)."""
    path = Path(path)
    data = read_yaml_mapping(path)
    try:
        settings = TypeAdapter(RepairSettings).validate_python(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(path, e)) from e
    check_settings(settings, str(path))
    return settings


def check_settings(settings: RepairSettings, source: str = "repair settings") -> None:
    """Reject values the ladder cannot use; the message names the field."""
    problems: list[tuple[str, str]] = []
    unknown = [r for r in settings.rungs if r not in RUNGS]
    if unknown or not settings.rungs:
        problems.append(
            ("rungs", f"unknown {unknown or 'empty'}; choose from {list(RUNGS)}")
        )
    for name in ("band_lambdas", "interpolation_lambdas", "sparsities"):
        values = getattr(settings, name)
        if not values or any(not 0.0 <= v <= 1.0 for v in values):
            problems.append((name, f"need values in [0, 1], got {list(values)}"))
    for name in ("max_utility_loss", "max_divergence"):
        if getattr(settings, name) < 0:
            problems.append((name, "must not be negative"))
    if not 0.0 < settings.heldout_share < 1.0:
        problems.append(("heldout_share", "must lie strictly between 0 and 1"))
    sppft = settings.sppft
    if sppft.max_steps is not None and sppft.max_steps < 1:
        problems.append(("sppft.max_steps", "must be at least 1"))
    if not 0.0 <= sppft.safety_share < 1.0:
        problems.append(("sppft.safety_share", "must lie in [0, 1)"))
    if sppft.learning_rate <= 0:
        problems.append(("sppft.learning_rate", "must be positive"))
    if problems:
        raise ConfigError(
            "\n".join(f"{source}: field {name!r}: {msg}" for name, msg in problems)
        )
