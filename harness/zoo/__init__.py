"""Reference models built offline from GGUF packages.

SmolLM2-135M-Instruct and the models trained from it (aligned, planted-band,
attacked), and vendor-aligned Qwen2.5-Coder-Instruct models converted as they are.

``ensure_model("smol-aligned")`` returns the directory of a cached HF
checkpoint, building it (and its parents) on first use: from the deltas the
package ships where their recipe keys match (:mod:`harness.zoo.shipped`), else
by training. Nothing heavy is imported here; building imports torch and
transformers.
"""

from __future__ import annotations

from pathlib import Path

from harness.checkpoint import ZOO_PREFIX
from harness.zoo.build import ensure_built
from harness.zoo.recipes import zoo_recipes

__all__ = ["ensure_model", "model_names", "resolve_ref"]


def ensure_model(
    name: str, profile: str | None = None, *, from_recipe: bool = False
) -> Path:
    """Return the directory of zoo model ``name``, building it on first use.

    Args:
        name: A zoo model name such as ``smol-aligned`` (``zoo:`` stripped).
        profile: ``full`` or ``ci``; default ``$SAFETY_HARNESS_ZOO_PROFILE``
            or ``full``.
        from_recipe: Train and measure it (and its parents) as the recipe
            says, instead of applying the shipped deltas.
    """
    return ensure_built(name, profile, from_recipe=from_recipe)


def model_names(profile: str | None = None) -> list[str]:
    """Names of the zoo models, parents first."""
    return list(zoo_recipes(profile))


def resolve_ref(ref: str, profile: str | None = None) -> str:
    """Map ``zoo:NAME`` to its directory (built on first use); keep other refs.

    The edges (the plugin, the CLI, benchmarks) call this, so that
    :mod:`harness.checkpoint` only ever sees paths.
    """
    if not ref.startswith(ZOO_PREFIX):
        return ref
    return str(ensure_model(ref.removeprefix(ZOO_PREFIX), profile))
