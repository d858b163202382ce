"""Every setting of one localization run (all of them enter the profile's cache key)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.localization.gap import GapRule
from harness.localization.search import SearchSettings
from harness.localization.similarity import PairMode
from harness.prompts import TemplateKind


class LocalizationSettings(BaseModel):
    """How to localize safety layers (paper §3); defaults follow the paper.

    Attributes:
        template: How queries become prompts. ``auto`` uses the model's chat
            template when it has one; ``alpaca`` is the paper's (App. A.1).
        batch_size: Queries per forward pass.
        pairs: ``exact`` (every pair) or ``sampled`` (``sample_pairs`` random
            pairs per type with the authors' seeds).
        gap: The initial-range rule and its noise floor.
        search: The over-rejection search.
        max_new_tokens: Tokens generated per over-rejection query at most.
        include_o_proj: Scale ``o_proj`` too (the current authors' script does;
            the OpenReview version effectively did not; docs/localization.md, note 4).
        judge: A judge of :mod:`harness.judges`: ``opening`` (refusal template
            at the start; decides after a few tokens) or ``keyword`` (the
            structure-aware judge; decides once it has read its window).
        initial_range: Start the search here instead of from the gap curve.
        seed: Seed of the label permutations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: TemplateKind = TemplateKind.AUTO
    batch_size: int = Field(default=128, ge=1)
    pairs: PairMode = "exact"
    sample_pairs: int = Field(default=500, ge=1)
    gap: GapRule = GapRule()
    search: SearchSettings = SearchSettings()
    max_new_tokens: int = Field(default=8, ge=1)
    include_o_proj: bool = True
    judge: Literal["opening", "keyword"] = "opening"
    initial_range: tuple[int, int] | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _ordered_range(self) -> LocalizationSettings:
        if self.initial_range is not None:
            first, last = self.initial_range
            if not 0 <= first <= last:
                raise ValueError(
                    f"initial_range [{first}, {last}] must satisfy 0 <= first <= last"
                )
        return self
