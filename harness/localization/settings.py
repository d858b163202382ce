"""Every setting of one localization run (all of them enter the profile's cache key).

Each field's ``description`` is also the help of its ``python -m harness
locate`` option (:mod:`harness.cli_options`), so the meaning and the default
are written once, here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.layers import LayerRange
from harness.localization.gap import GapRule
from harness.localization.profile import SafetyLayerProfile
from harness.localization.search import SearchSettings
from harness.localization.similarity import PairMode
from harness.prompts import TemplateKind

#: Over-rejection queries the safety-layer suite's search uses
#: (:meth:`LocalizationSettings.for_suite`): every second of the shipped 366, so
#: the search costs half. On smol-base searched from [10, 15] at alpha 1.15, 183
#: located the same range as all 366 where 120 tied two candidates
#: (docs/performance-safety-layers.md).
SUITE_OVER_REJECTION_LIMIT = 183


class LocalizationSettings(BaseModel):
    """How to localize safety layers (paper §3); defaults follow the paper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: TemplateKind = Field(
        default=TemplateKind.AUTO,
        description="how queries become prompts: auto = the chat template if "
        "the tokenizer has one; alpaca = the paper's (App. A.1)",
    )
    batch_size: int = Field(
        default=128, ge=1, description="queries per forward pass (states and R_o)"
    )
    pairs: PairMode = Field(
        default="exact",
        description="exact: every N-N, M-M and N-M pair; sampled: sample_pairs "
        "random pairs per type with the authors' seeds",
    )
    sample_pairs: int = Field(
        default=500, ge=1, description="pairs per type when pairs is sampled"
    )
    gap: GapRule = Field(
        default=GapRule(), description="the initial-range rule and its noise floor"
    )
    search: SearchSettings = Field(
        default=SearchSettings(), description="the over-rejection search"
    )
    max_new_tokens: int = Field(
        default=8, ge=1, description="R_o tokens generated per query at most"
    )
    include_o_proj: bool = Field(
        default=True,
        description="scale o_proj too, as the current authors' script does "
        "(off: the OpenReview version; docs/localization.md, note 4)",
    )
    judge: Literal["opening", "keyword"] = Field(
        default="opening",
        description="refusal judge of R_o: opening (refusal template at the "
        "start, decides after a few tokens) or keyword (structure-aware)",
    )
    initial_range: LayerRange | None = Field(
        default=None,
        description="start the search from this inclusive layer range instead "
        "of the gap curve's",
    )
    over_rejection_limit: int | None = Field(
        default=None,
        ge=2,
        description="use at most N over-rejection queries, evenly spread over "
        "the set (unset: all; the search's cost is proportional)",
    )
    search_enabled: bool = Field(
        default=True,
        description="run the over-rejection search after a clear band (off: "
        "the existence analysis alone, and no located range)",
    )
    seed: int = Field(default=0, description="seed of the label permutations")

    @model_validator(mode="after")
    def _ordered_range(self) -> LocalizationSettings:
        if self.initial_range is not None:
            first, last = self.initial_range
            if not 0 <= first <= last:
                raise ValueError(
                    f"initial_range [{first}, {last}] must satisfy 0 <= first <= last"
                )
        return self

    @classmethod
    def for_suite(
        cls,
        batch_size: int | None = None,
        baseline: SafetyLayerProfile | None = None,
    ) -> LocalizationSettings:
        """The safety-layer suite's settings: a search bounded by what it needs.

        The suite compares a subject's profile with its baseline's
        (:func:`harness.localization.regression.compare_profiles`), which reads
        the subject's located range only when the baseline has one. So:

        * every profile searches at most :data:`SUITE_OVER_REJECTION_LIMIT`
          over-rejection queries;
        * given the baseline's profile, a subject searches at the baseline's
          alpha and direction (at most 17 R_o evaluations instead of 42, and
          both scaled alike), or not at all when the baseline located nothing.

        Args:
            batch_size: Queries per forward pass (default: this model's default).
            baseline: The baseline's profile, when this is for a subject.
        """
        values: dict[str, Any] = {"over_rejection_limit": SUITE_OVER_REJECTION_LIMIT}
        if batch_size is not None:
            values["batch_size"] = batch_size
        if baseline is not None:
            found = baseline.search if baseline.safety_layers is not None else None
            if found is None:
                values["search_enabled"] = False
            else:
                values["search"] = SearchSettings(
                    alpha=found.alpha,
                    direction="down" if found.direction == "down" else "up",
                )
        return cls.model_validate(values)
