"""Safety-layer localization (paper "Safety Layers in Aligned LLMs", §3).

Importing this package is cheap: torch and transformers load inside the
functions that need them. Entry points:

* :func:`harness.localization.api.locate_safety_layers`: the whole procedure;
* :class:`harness.localization.profile.SafetyLayerProfile`: its JSON artifact;
* ``python -m harness locate --model X --out DIR``: the command line.
"""

from __future__ import annotations

from harness.localization.api import locate_safety_layers
from harness.localization.profile import SafetyLayerProfile
from harness.localization.settings import LocalizationSettings

__all__ = ["LocalizationSettings", "SafetyLayerProfile", "locate_safety_layers"]
