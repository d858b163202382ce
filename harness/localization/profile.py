"""``SafetyLayerProfile``: the versioned JSON artifact of one localization.

Top-level ``"safety_layers": [first, last]`` is inclusive and 0-based, or
``null`` when no range can honestly be claimed (``status`` and ``summary`` say
why). Profiles are cached by a key over the model fingerprint, the data hashes
and the settings, so a baseline is localized once; writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ConfigError
from harness.io import write_text_atomic
from harness.layers import LayerRange
from harness.localization.gap import BandResult
from harness.localization.search import SearchResult, Sweep
from harness.localization.similarity import PairStats, SimilarityCurves

SCHEMA_VERSION: Literal[1] = 1
#: Version of the procedure's code, part of every profile's cache key. Bump it
#: with any change that can change a profile computed from the same weights,
#: data and settings (the gap rule, the search, the judge, hidden-state
#: extraction), so that no cached profile of the old code is served after it.
PROCEDURE_VERSION = 2
PROFILE_DIR_ENV = "SAFETY_HARNESS_PROFILE_DIR"
Status = Literal["located", "no_clear_band", "inconclusive"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelInfo(_Strict):
    """Which weights were analysed, and how they were run."""

    ref: str
    fingerprint: str
    architecture: str
    num_layers: int
    hidden_size: int
    dtype: str
    device: str


class DataInfo(_Strict):
    """Provenance of one query set."""

    source: str
    count: int
    sha256: str


class PairCurves(_Strict):
    """Per-layer cosine statistics of one pair type."""

    cos_mean: list[float]
    cos_std: list[float]
    angle_mean_deg: list[float]
    pairs: int


class Band(_Strict):
    """The gap rule's verdict (see :mod:`harness.localization.gap`)."""

    found: bool
    first: int | None
    last: int | None
    base_layer: int
    peak_layer: int
    rise_deg: float
    noise_floor_deg: float
    p_value: float | None
    reason: str


class Existence(_Strict):
    """Paper §3.2-§3.3: the similarity curves, the gap, its noise floor, the band."""

    mode: str
    nn: PairCurves
    mm: PairCurves
    nm: PairCurves
    gap_deg: list[float]
    noise_floor_deg: list[float]
    band: Band


class StepRecord(_Strict):
    """One sweep candidate, compared with the sweep's winner."""

    range: LayerRange
    count: int
    difference: int | None
    only_step: int | None
    only_winner: int | None
    p_value: float | None
    significant: bool | None
    refused: str | None  # per-query flags, "1" = refused, in query order


class SweepRecord(_Strict):
    """One sweep over a bound at fixed alpha."""

    kind: str
    alpha: float
    winner: LayerRange
    unique_winner: bool
    spread: float
    margin_within_noise: bool | None
    winner_at_edge: bool
    steps: list[StepRecord]


class AlphaRecord(_Strict):
    """The upper-bound sweep at one trial alpha."""

    alpha: float
    counts: list[int]
    spread: float


class SearchRecord(_Strict):
    """Paper §3.4: the over-rejection search."""

    initial_range: LayerRange
    queries: int
    baseline: int
    baseline_refused: str | None
    direction: str
    alpha: float
    alpha_trials: list[AlphaRecord]
    spread_target: float
    spread_reached: bool
    upper: SweepRecord
    lower: SweepRecord
    located: LayerRange
    conclusive: bool
    margin_within_noise: bool


class SafetyLayerProfile(_Strict):
    """The full record of one localization; see the module docstring."""

    schema_version: Literal[1] = SCHEMA_VERSION
    harness_version: str
    created_at: str
    status: Status
    summary: str
    safety_layers: LayerRange | None
    model: ModelInfo
    data: dict[str, DataInfo]
    settings: dict[str, Any]
    existence: Existence
    initial_range: LayerRange | None
    initial_range_source: Literal["gap", "user"] | None
    search: SearchRecord | None
    timings: dict[str, float]

    def to_json(self) -> str:
        """Serialize with stable key order and indentation."""
        return self.model_dump_json(indent=2)

    def save(self, path: str | Path) -> Path:
        """Write the profile atomically to ``path``."""
        return write_text_atomic(Path(path), self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> SafetyLayerProfile:
        """Read and validate a profile file."""
        path = Path(path)
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the profile: {e}") from e
        except ValidationError as e:
            raise ConfigError(f"{path}: not a valid safety-layer profile: {e}") from e


def flags(refused: tuple[bool, ...] | None) -> str | None:
    """Per-query refusal flags as a compact string of 0/1."""
    return None if refused is None else "".join("1" if r else "0" for r in refused)


def cache_key(
    fingerprint: str, data: dict[str, DataInfo], settings: dict[str, Any], run: str
) -> str:
    """Key of a profile: same code, weights, data, settings and dtype/device."""
    material = {
        "schema": SCHEMA_VERSION,
        "procedure": PROCEDURE_VERSION,
        "fingerprint": fingerprint,
        "data": {k: v.sha256 for k, v in sorted(data.items())},
        "settings": settings,
        "run": run,
    }
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def default_cache_dir() -> Path:
    """``$SAFETY_HARNESS_PROFILE_DIR``, else the user cache directory."""
    configured = os.environ.get(PROFILE_DIR_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("safety-layer-harness")) / "profiles"


class ProfileCache:
    """Profiles stored by cache key in one directory."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()

    def path(self, key: str) -> Path:
        """File of the profile with this key."""
        return self.directory / f"{key}.json"

    def get(self, key: str) -> SafetyLayerProfile | None:
        """The cached profile, or None (an unreadable file counts as absent)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return SafetyLayerProfile.load(path)
        except ConfigError:
            return None

    def put(self, key: str, profile: SafetyLayerProfile) -> Path:
        """Store a profile atomically."""
        return profile.save(self.path(key))


# Records of the analysis results. The numerical modules return their own
# dataclasses; these build the profile's pydantic records from them directly.


def _pair_curves(stats: PairStats) -> PairCurves:
    return PairCurves(
        cos_mean=stats.cos_mean,
        cos_std=stats.cos_std,
        angle_mean_deg=stats.angle_mean_deg,
        pairs=stats.pairs,
    )


def existence_record(
    curves: SimilarityCurves, floor: list[float], band: BandResult
) -> Existence:
    """The existence section: curves, gap, per-layer noise floor, band verdict."""
    return Existence(
        mode=curves.mode,
        nn=_pair_curves(curves.nn),
        mm=_pair_curves(curves.mm),
        nm=_pair_curves(curves.nm),
        gap_deg=curves.gap_deg,
        noise_floor_deg=floor,
        band=Band(
            found=band.found,
            first=band.first,
            last=band.last,
            base_layer=band.rise.base_layer,
            peak_layer=band.rise.peak_layer,
            rise_deg=band.rise.rise_deg,
            noise_floor_deg=band.noise_floor_deg,
            p_value=band.p_value,
            reason=band.reason,
        ),
    )


def sweep_record(sweep: Sweep, refused: dict[LayerRange, str | None]) -> SweepRecord:
    """One sweep with its paired comparisons and per-query flags."""
    steps = []
    for step in sweep.steps:
        versus = step.versus_winner
        steps.append(
            StepRecord(
                range=step.layer_range,
                count=step.count,
                difference=None if versus is None else versus.difference,
                only_step=None if versus is None else versus.only_step,
                only_winner=None if versus is None else versus.only_winner,
                p_value=None if versus is None else versus.p_value,
                significant=None if versus is None else versus.significant,
                refused=refused.get(step.layer_range),
            )
        )
    return SweepRecord(
        kind=sweep.kind,
        alpha=sweep.alpha,
        winner=sweep.winner,
        unique_winner=sweep.unique_winner,
        spread=sweep.spread,
        margin_within_noise=sweep.margin_within_noise,
        winner_at_edge=sweep.winner_at_edge,
        steps=steps,
    )


def search_record(
    result: SearchResult,
    baseline_refused: tuple[bool, ...] | None,
    refused: dict[tuple[LayerRange, float], tuple[bool, ...]],
) -> SearchRecord:
    """The search section; ``refused`` maps (range, alpha) to per-query flags."""

    def at(alpha: float) -> dict[LayerRange, str | None]:
        return {r: flags(f) for (r, a), f in refused.items() if a == alpha}

    return SearchRecord(
        initial_range=result.initial_range,
        queries=result.queries,
        baseline=result.baseline,
        baseline_refused=flags(baseline_refused),
        direction=result.direction,
        alpha=result.alpha,
        alpha_trials=[
            AlphaRecord(alpha=t.alpha, counts=t.counts, spread=t.spread)
            for t in result.alpha_trials
        ],
        spread_target=result.spread_target,
        spread_reached=result.spread_reached,
        upper=sweep_record(result.upper, at(result.alpha)),
        lower=sweep_record(result.lower, at(result.alpha)),
        located=result.located,
        conclusive=result.conclusive,
        margin_within_noise=result.margin_within_noise,
    )
