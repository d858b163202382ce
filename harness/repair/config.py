"""The ladder's knobs from a YAML file (``--config`` / ``--repair-config``).

Every field of :class:`~harness.repair.settings.RepairSettings` may be set, and
``sppft:`` takes the fields of :class:`~harness.repair.sppft.SPPFTSettings`
(the paper's Table 6 by default) and ``patch:`` those of
:class:`~harness.repair.settings.PatchSettings`; what is left out keeps its
default::

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

from pydantic import ValidationError

from harness.errors import ConfigError
from harness.io import describe_errors, read_yaml_mapping
from harness.repair.settings import RepairSettings


def load_repair_settings(path: str | Path) -> RepairSettings:
    """Read ``path`` into :class:`RepairSettings` (defaults for what is absent).

    Raises:
        ConfigError: naming the file, the field and the allowed range.
    """
    path = Path(path)
    data = read_yaml_mapping(path)
    try:
        return RepairSettings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(path, e)) from e
