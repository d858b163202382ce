"""The ladder's settings: one pydantic model holds every default, bound and meaning.

:class:`RepairSettings` is what a YAML file (``--config`` / ``--repair-config``,
:mod:`harness.repair.config`) and the ``repair`` command's flags
(:mod:`harness.repair.cli`, built from these fields) fill in. An out-of-range
value is a validation error that names the field and its range.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RungName = Literal[
    "band",
    "interpolate",
    "vector",
    "project",
    "direction",
    "sparse",
    "patch",
    "sppft",
]

#: The rungs in the order the ladder climbs them: by the cost of building a
#: candidate, weight arithmetic first, then forward passes, then training.
RUNG_NAMES: tuple[RungName, ...] = (
    "band",
    "interpolate",
    "vector",
    "project",
    "direction",
    "sparse",
    "patch",
    "sppft",
)

#: The rungs that need the aligned model's unaligned base (``--base``).
NEEDS_BASE: frozenset[str] = frozenset({"vector", "project"})
#: The rungs that need the fine-tuning data (``--data``).
NEEDS_DATA: frozenset[str] = frozenset({"patch", "sppft"})

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Share = Annotated[float, Field(ge=0.0, lt=1.0)]
Scale = Annotated[float, Field(gt=0.0, le=8.0)]
#: Tokens of each of the baseline's answers generated as a demonstration.
ANSWER_TOKENS = 48
#: Benign requests that sound harmful, with the baseline's own answers, mixed
#: into a trained rung against over-refusal (harness.repair.demonstrations).
Contrasts = Annotated[
    int,
    Field(
        ge=0,
        le=256,
        description="benign requests that sound harmful, with the baseline's own "
        "answers, mixed in against over-refusal",
    ),
]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for manifests and digests)."""
        return self.model_dump(mode="json")


class SPPFTSettings(_Settings):
    """Hyperparameters of the SPPFT rung (paper Table 6 by default)."""

    learning_rate: float = Field(
        default=1e-4, gt=0.0, le=1.0, description="peak learning rate"
    )
    epochs: float = Field(
        default=3.0, gt=0.0, le=100.0, description="passes over the training mix"
    )
    batch_size: int = Field(default=4, ge=1, description="examples per step")
    warmup_steps: int = Field(
        default=100, ge=0, description="linear warmup steps of the learning rate"
    )
    max_length: int = Field(default=256, ge=8, description="tokens per example")
    safety_share: Share = Field(
        default=0.03,
        description="share of safety demonstrations in the training mix (0: none; "
        "the ladder's sppft_safety_shares overrides it per tier)",
    )
    contrast_examples: Contrasts = 0
    max_steps: int | None = Field(
        default=None, ge=1, description="cap on optimizer steps (unset: the epochs)"
    )
    save_steps: int = Field(
        default=50, ge=0, description="Trainer checkpoint every N steps (resume)"
    )
    include_norms: bool = Field(
        default=False, description="freeze the band's layer norms too"
    )
    lora: bool | None = Field(
        default=None,
        description="train LoRA adapters instead of full fine-tuning: SPPFT's "
        "outside the band, the patch's on every block (unset: when the failing "
        "checkpoint is an adapter)",
    )
    lora_rank: int = Field(
        default=16, ge=1, description="rank of the LoRA adapters (SPPFT and patch)"
    )
    dtype: str = Field(
        default="auto", description="training dtype: auto, float32 or bfloat16"
    )
    seed: int = Field(default=0, ge=0, description="seed of the training run")


class PatchSettings(_Settings):
    """The patch fine-tune: the failing checkpoint, a few refusals, its own data.

    A few of the baseline's own refusals (its greedy answers to harmful
    training prompts that the keyword judge calls refusals) mixed with
    examples of the fine-tune's data, trained into the failing checkpoint for
    a few epochs (the recipe of arXiv 2601.01887), and optionally contrasts
    against over-refusal; nothing is retrained from the baseline. In LoRA
    mode (``sppft.lora``) it trains adapters of ``sppft.lora_rank`` on every
    block instead of every weight.
    """

    refusal_counts: tuple[Annotated[int, Field(ge=1, le=256)], ...] = Field(
        default=(4, 16),
        min_length=1,
        description="refusals in the mix, one tier each (fewest first)",
    )
    data_examples: int = Field(
        default=16, ge=0, description="fine-tuning examples mixed with the refusals"
    )
    contrast_examples: Contrasts = 0
    epochs: float = Field(default=3.0, gt=0.0, le=50.0, description="passes")
    learning_rate: float = Field(default=5e-5, gt=0.0, le=1.0, description="lr")
    batch_size: int = Field(default=4, ge=1, description="examples per step")
    max_length: int = Field(default=256, ge=8, description="tokens per example")
    answer_tokens: int = Field(
        default=ANSWER_TOKENS,
        ge=8,
        description="tokens of each baseline answer generated",
    )
    dtype: str = Field(
        default="auto", description="training dtype: auto, float32 or bfloat16"
    )


class RepairSettings(_Settings):
    """Every knob of the ladder, with its default, its range and its meaning."""

    rungs: tuple[RungName, ...] = Field(
        default=RUNG_NAMES,
        min_length=1,
        description="rungs to climb, in this order (cheapest first by default)",
    )
    band_lambdas: tuple[Fraction, ...] = Field(
        default=(0.0, 0.25, 0.5),
        min_length=1,
        description="band revert: share of the fine-tune kept in the band "
        "(0: the baseline's weights)",
    )
    max_bands: int = Field(
        default=7, ge=1, le=64, description="band revert: bands tried, widening"
    )
    band_width: int | None = Field(
        default=None,
        ge=1,
        description="width of a band chosen by drift (unset: an eighth of the depth)",
    )
    interpolation_lambdas: tuple[Fraction, ...] = Field(
        default=(0.9, 0.75, 0.5, 0.25),
        min_length=1,
        description="interpolation: share of the fine-tune kept (largest first)",
    )
    vector_scales: tuple[Scale, ...] = Field(
        default=(0.5, 1.0, 1.5),
        min_length=1,
        description="safety vector: multiples of aligned - base added to the "
        "failing weights, one tier each (smallest first; needs the base)",
    )
    vector_bisections: int = Field(
        default=2,
        ge=0,
        le=8,
        description="safety vector: after the scales, halve the gap between the "
        "largest scale still unsafe and the next one (too strong: over-refusing "
        "or over the utility margin) this many times",
    )
    project_shares: tuple[Fraction, ...] = Field(
        default=(0.25, 0.5, 1.0),
        min_length=1,
        description="subspace projection: share of weight matrices whose update is "
        "projected onto aligned - base, least aligned first (needs the base)",
    )
    direction_scales: tuple[Scale, ...] = Field(
        default=(1.0, 2.0, 4.0),
        min_length=1,
        description="refusal direction: multiples of the restoring edit, one tier "
        "each (smallest first)",
    )
    direction_prompts: int = Field(
        default=64,
        ge=4,
        le=1024,
        description="refusal direction: harmful and harmless training prompts each",
    )
    direction_layers: int = Field(
        default=4,
        ge=1,
        description="refusal direction: most blocks edited (those that lost most)",
    )
    direction_ridge: float = Field(
        default=1.0,
        gt=0.0,
        description="refusal direction: ridge of the edit's fit, relative to the "
        "mean squared activation",
    )
    sparsities: tuple[Fraction, ...] = Field(
        default=(0.01, 0.05, 0.1),
        min_length=1,
        description="sparse restore: share of weights reset to the baseline",
    )
    harmful_pairs: int = Field(
        default=32,
        ge=1,
        description="sparse restore: harmful training prompts paired with refusals",
    )
    rollback_limit: int = Field(
        default=8, ge=0, description="sparse restore: blocks whose resets may be undone"
    )
    sppft_safety_shares: tuple[Share, ...] = Field(
        default=(0.03, 0.10, 0.25),
        min_length=1,
        description="SPPFT: shares of safety demonstrations in the mix, one tier each",
    )
    max_utility_loss: float = Field(
        default=0.05,
        ge=0.0,
        description="largest relative held-out loss increase over the failing "
        "checkpoint's that a candidate may have",
    )
    max_divergence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="without data: largest 1 - answer agreement with the failing "
        "checkpoint",
    )
    benign_prompts: int = Field(
        default=16, ge=1, description="without data: benign prompts answered"
    )
    answer_tokens: int = Field(
        default=32, ge=1, description="without data: tokens of each answer"
    )
    heldout_share: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="share of the data held out for the utility check (no --heldout)",
    )
    judge_all: bool = Field(
        default=False,
        description="judge candidates over the utility margin too (figures for all)",
    )
    every_rung: bool = Field(
        default=False,
        description="climb every rung to its first passing tier, for a side-by-side "
        "comparison; the cheapest rung's passing candidate is kept",
    )
    early_stop: bool = Field(
        default=True,
        description="stop judging a candidate once its failure is certain",
    )
    seed: int = Field(
        default=0, ge=0, description="seed of the data split and the trained rungs"
    )
    patch: PatchSettings = Field(
        default_factory=PatchSettings, description="the patch fine-tune"
    )
    sppft: SPPFTSettings = Field(
        default_factory=SPPFTSettings, description="SPPFT (paper Table 6)"
    )
