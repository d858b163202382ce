"""The unaligned base of an aligned baseline, for the safety-vector rungs.

A zoo recipe records the model each one was trained from: an ``align``
recipe's parent is the unaligned model it was aligned from (``smol-aligned``
and the planted-band models come from ``smol-base``). A vendor-aligned model
converted as it is (``qwen-coder-1.5b``) has no base in the zoo; users name
theirs with ``--base`` / ``--repair-base``.
"""

from __future__ import annotations

from harness.checkpoint import ZOO_PREFIX
from harness.zoo.recipes import get_recipe


def zoo_unaligned_base(baseline: str) -> str | None:
    """``zoo:PARENT`` where ``baseline`` is a zoo model aligned from a base."""
    if not baseline.startswith(ZOO_PREFIX):
        return None
    recipe = get_recipe(baseline.removeprefix(ZOO_PREFIX))
    if recipe.kind != "align" or recipe.parent is None:
        return None
    return ZOO_PREFIX + recipe.parent
