"""``locate_safety_layers``: paper §3 end to end, cached by model fingerprint.

The one orchestration module: it runs each step through the numerical modules
(similarity, gap, over_rejection, search) and builds the profile's records.

1. Existence (§3.2-§3.3): last-token hidden states of the N and M queries,
   exact pair statistics, the angle gap and its label-permutation noise floor.
2. Initial range (§3.4.3 step 1) from the gap rule, or "no clear safety band".
3. Over-rejection search (§3.4.3 steps 2-4, App. A.3.4) from that range.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from harness import __version__
from harness.checkpoint import LoadOptions, load_checkpoint, resolve_device
from harness.judges import create_judge
from harness.layers import LayerRange, num_layers
from harness.localization.activations import last_token_states
from harness.localization.data import (
    QUERY_SETS,
    QuerySet,
    load_query_set,
    spread_subset,
)
from harness.localization.figure import render_profile
from harness.localization.gap import (
    BandResult,
    PermutationNull,
    find_band,
    permutation_null,
)
from harness.localization.over_rejection import (
    EvaluatorOracle,
    OverRejectionEvaluator,
)
from harness.localization.profile import (
    DataInfo,
    ModelInfo,
    ProfileCache,
    SafetyLayerProfile,
    SearchRecord,
    Status,
    cache_key,
    existence_record,
    search_record,
)
from harness.localization.reuse import StatesKey, fingerprint_once, remember_states
from harness.localization.search import locate_by_over_rejection
from harness.localization.settings import LocalizationSettings
from harness.localization.similarity import (
    SimilarityCurves,
    exact_curves,
    sampled_curves,
)
from harness.precision import choose_dtype
from harness.progress import progress_bar
from harness.prompts import PromptFormatter, TemplateKind


def load_query_sets(
    paths: Mapping[str, str | Path | None] | None = None,
) -> dict[str, QuerySet]:
    """Load N, M and D_o: the given files, the shipped defaults for the rest."""
    paths = paths or {}
    return {name: load_query_set(name, paths.get(name)) for name in QUERY_SETS}


def locate_safety_layers(
    model: str,
    *,
    ref: str | None = None,
    settings: LocalizationSettings | None = None,
    load_options: LoadOptions | None = None,
    queries: Mapping[str, str | Path | None] | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    out_dir: str | Path | None = None,
) -> SafetyLayerProfile:
    """Localize the safety layers of a checkpoint directory.

    Args:
        model: Checkpoint directory (resolve ``zoo:NAME`` first with
            :func:`harness.zoo.resolve_ref`).
        ref: What the user named the checkpoint (``zoo:smol-aligned``),
            recorded in the profile; default ``model``.
        settings: Localization settings (paper defaults when omitted).
        load_options: Device and dtype (``auto``: bf16 where native, else fp32).
        queries: Files replacing the ``normal``/``malicious``/``over_rejection``
            defaults (JSONL, CSV or plain text).
        cache_dir: Profile cache (default: ``$SAFETY_HARNESS_PROFILE_DIR`` or
            the user cache directory).
        use_cache: Reuse a cached profile of the same weights, data and settings.
        out_dir: Also write ``safety_profile.json`` and ``.png`` there.

    Returns:
        The profile; ``profile.safety_layers`` is ``[first, last]`` or None.
    """
    settings = settings or LocalizationSettings()
    options = load_options or LoadOptions(device=resolve_device("auto"))
    sets = load_query_sets(queries)
    started = time.perf_counter()
    with progress_bar(1, f"fingerprint {Path(model).name}") as advance:
        fingerprint = fingerprint_once(model)
        advance(1)
    fingerprint_s = time.perf_counter() - started
    key = profile_key(fingerprint, sets, settings, options)
    cache = ProfileCache(cache_dir)
    profile = cache.get(key) if use_cache else None
    if profile is None:
        loaded_at = time.perf_counter()
        with progress_bar(1, f"load {Path(model).name}") as advance:
            loaded, tokenizer = load_checkpoint(model, options)
            advance(1)
        timings = {
            "fingerprint_s": fingerprint_s,
            "load_s": time.perf_counter() - loaded_at,
        }
        info = model_info(loaded, ref or model, fingerprint, options.device)
        profile = analyse_model(loaded, tokenizer, sets, settings, info, timings)
        cache.put(key, profile)
    if out_dir is not None:
        write_outputs(profile, Path(out_dir))
    return profile


def profile_key(
    fingerprint: str,
    sets: Mapping[str, QuerySet],
    settings: LocalizationSettings,
    options: LoadOptions,
) -> str:
    """Cache key: the weights, the data, every setting, the dtype and device."""
    dtype = choose_dtype(options.dtype, options.device)
    return cache_key(
        fingerprint,
        data_infos(sets),
        settings_for_key(settings),
        f"{dtype}@{options.device}",
    )


def settings_for_key(settings: LocalizationSettings) -> dict[str, Any]:
    """Every setting, but a later-added one only when it is not at its default.

    So the profiles cached before such a setting existed (a baseline's above
    all) keep their key under the same settings.
    """
    fields = LocalizationSettings.model_fields
    return {
        k: v
        for k, v in settings.model_dump(mode="json").items()
        if not (k in ADDED_SETTINGS and v == fields[k].default)
    }


#: Settings added after profiles were first cached (at their default: not keyed).
ADDED_SETTINGS = frozenset({"over_rejection_limit", "search_enabled"})


def data_infos(sets: Mapping[str, QuerySet]) -> dict[str, DataInfo]:
    """Provenance of every query set: source, count and content hash."""
    return {
        name: DataInfo(source=qs.source, count=len(qs.prompts), sha256=qs.sha256)
        for name, qs in sets.items()
    }


def model_info(model: Any, ref: str, fingerprint: str, device: str) -> ModelInfo:
    """Describe the loaded model for the profile."""
    return ModelInfo(
        ref=ref,
        fingerprint=fingerprint,
        architecture=str(getattr(model.config, "model_type", type(model).__name__)),
        num_layers=num_layers(model),
        hidden_size=int(model.config.hidden_size),
        dtype=str(model.dtype).removeprefix("torch."),
        device=device,
    )


def write_outputs(profile: SafetyLayerProfile, out_dir: Path) -> tuple[Path, Path]:
    """Write ``safety_profile.json`` and ``safety_profile.png`` into ``out_dir``."""
    with progress_bar(1, "profile figure") as advance:
        json_path = profile.save(out_dir / "safety_profile.json")
        png_path = render_profile(profile, out_dir / "safety_profile.png")
        advance(1)
    return json_path, png_path


def analyse_model(
    model: Any,
    tokenizer: Any,
    sets: Mapping[str, QuerySet],
    settings: LocalizationSettings,
    info: ModelInfo,
    timings: dict[str, float] | None = None,
) -> SafetyLayerProfile:
    """Run the whole localization on a loaded model (no caching, no files).

    The N/M states are remembered (:mod:`harness.localization.reuse`) for
    the drift checks that read the same checkpoint next.
    """
    timings = dict(timings or {})
    started = time.perf_counter()
    formatter = PromptFormatter(tokenizer, settings.template)
    curves, null, band = existence_step(
        model,
        tokenizer,
        formatter,
        sets,
        settings,
        timings,
        states_key(sets, info, settings),
    )
    initial, source = _initial_range(band, settings, info.num_layers)
    search = None
    if initial is not None and settings.search_enabled:
        queries = spread_subset(sets["over_rejection"], settings.over_rejection_limit)
        search = search_step(
            model, tokenizer, formatter, queries, settings, initial, timings
        )
    timings["analysis_s"] = time.perf_counter() - started
    status, layers, summary = _conclusion(band, search, initial, source)
    return SafetyLayerProfile(
        harness_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        status=status,
        summary=summary,
        safety_layers=layers,
        model=info,
        data=data_infos(sets),
        settings={
            **settings.model_dump(mode="json"),
            "template_used": formatter.kind.value,
        },
        existence=existence_record(curves, null.layer_floor_deg, band),
        initial_range=initial,
        initial_range_source=source,
        search=search,
        timings=timings,
    )


def states_key(
    sets: Mapping[str, QuerySet], info: ModelInfo, settings: LocalizationSettings
) -> StatesKey:
    """What the N/M states of this model depend on (batch size aside)."""
    return StatesKey(
        fingerprint=info.fingerprint,
        dtype=info.dtype,
        device=info.device,
        template=TemplateKind(settings.template).value,
        normal_sha256=sets["normal"].sha256,
        malicious_sha256=sets["malicious"].sha256,
    )


def existence_step(
    model: Any,
    tokenizer: Any,
    formatter: PromptFormatter,
    sets: Mapping[str, QuerySet],
    settings: LocalizationSettings,
    timings: dict[str, float],
    remember: StatesKey | None = None,
) -> tuple[SimilarityCurves, PermutationNull, BandResult]:
    """Hidden states, similarity curves, noise floor and the gap rule.

    With ``remember``, the states are kept under that key for the drift checks.
    """
    started = time.perf_counter()
    normal, malicious = sets["normal"].prompts, sets["malicious"].prompts
    with progress_bar(len(normal) + len(malicious), "hidden states N+M") as advance:
        states = [
            last_token_states(
                model,
                tokenizer,
                formatter.prompts(queries),
                batch_size=settings.batch_size,
                advance=advance,
            )
            for queries in (normal, malicious)
        ]
    if remember is not None:
        remember_states(remember, *states)
    timings["hidden_states_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with progress_bar(1, "similarity curves and noise floor") as advance:
        if settings.pairs == "exact":
            curves = exact_curves(*states)
        else:
            curves = sampled_curves(*states, pairs=settings.sample_pairs)
        normal_states, malicious_states = states
        null = permutation_null(
            normal_states, malicious_states, settings.gap, seed=settings.seed
        )
        band = find_band(curves.gap_deg, null.rises_deg, settings.gap)
        advance(1)
    timings["similarity_s"] = time.perf_counter() - started
    return curves, null, band


def search_step(
    model: Any,
    tokenizer: Any,
    formatter: PromptFormatter,
    over_rejection: QuerySet,
    settings: LocalizationSettings,
    initial: LayerRange,
    timings: dict[str, float],
) -> SearchRecord:
    """The over-rejection search from ``initial``; returns its profile record."""
    started = time.perf_counter()
    evaluator = OverRejectionEvaluator(
        model,
        tokenizer,
        formatter.prompts(over_rejection.prompts),
        make_judge(settings.judge),
        instructions=over_rejection.prompts,
        max_new_tokens=settings.max_new_tokens,
        batch_size=settings.batch_size,
        include_o_proj=settings.include_o_proj,
    )
    # The baseline pass records the blocks below the lowest block any sweep scales.
    lowest = initial[0] + min(settings.search.lower_window)
    oracle = EvaluatorOracle(evaluator, boundary=max(0, min(lowest, initial[0])))
    result = locate_by_over_rejection(
        oracle, initial, num_layers(model), settings.search
    )
    timings["search_s"] = time.perf_counter() - started
    timings["ro_evaluations"] = float(evaluator.evaluations)
    return search_record(result, oracle.baseline_refused, oracle.refused)


def make_judge(name: str) -> Any:
    """The refusal judge of the R_o measurements (early stop: ``decide_prefix``)."""
    return create_judge(name)


def _initial_range(
    band: BandResult, settings: LocalizationSettings, layers: int
) -> tuple[LayerRange | None, Literal["gap", "user"] | None]:
    if settings.initial_range is not None:
        return LayerRange(*settings.initial_range).check(layers), "user"
    if band.found and band.first is not None and band.last is not None:
        return LayerRange(band.first, band.last), "gap"
    return None, None


def _conclusion(
    band: BandResult,
    search: SearchRecord | None,
    initial: LayerRange | None,
    source: str | None,
) -> tuple[Status, LayerRange | None, str]:
    if initial is None:
        return "no_clear_band", None, band.reason
    if search is None:
        return (
            "inconclusive",
            None,
            f"initial range {list(initial)}; the over-rejection search was not "
            "run (search_enabled is off)",
        )
    origin = "the gap curve" if source == "gap" else "the given initial range"
    trials = ", ".join(f"{t.alpha:g}: {t.spread:.1f}" for t in search.alpha_trials)
    if not search.conclusive:
        return (
            "inconclusive",
            None,
            f"over-rejection search from {list(initial)} ({origin}) is inconclusive: "
            f"sweep spread per alpha {{{trials}}} vs target "
            f"{search.spread_target:.1f}; unique winners: upper "
            f"{search.upper.unique_winner}, lower {search.lower.unique_winner}",
        )
    first, last = search.located
    notes = [
        *(["margin within noise"] if search.margin_within_noise else []),
        *(
            f"{s.kind} bound at the edge of its window"
            for s in (search.upper, search.lower)
            if s.winner_at_edge
        ),
    ]
    caveats = f" ({'; '.join(notes)})" if notes else ""
    return (
        "located",
        LayerRange(*search.located),
        f"safety layers [{first}, {last}] at alpha {search.alpha:g}{caveats}; "
        f"initial range {list(initial)} from {origin}",
    )


def summarize(profile: SafetyLayerProfile) -> Sequence[str]:
    """Readable lines describing a profile (for the CLI and reports)."""
    band = profile.existence.band
    lines = [
        f"model: {profile.model.ref} ({profile.model.architecture}, "
        f"{profile.model.num_layers} layers, {profile.model.dtype})",
        f"status: {profile.status}; safety_layers: {profile.safety_layers}",
        profile.summary,
        f"gap rise {band.rise_deg:.2f} deg (layers {band.base_layer}->"
        f"{band.peak_layer}), noise floor {band.noise_floor_deg:.2f} deg, "
        f"p={band.p_value}",
    ]
    search = profile.search
    if search is not None:
        lines.append(
            f"R_o baseline {search.baseline}/{search.queries}; alpha {search.alpha:g}"
        )
        for sweep in (search.upper, search.lower):
            cells = "  ".join(f"{list(s.range)}={s.count}" for s in sweep.steps)
            lines.append(f"{sweep.kind} sweep: {cells} -> {list(sweep.winner)}")
    return lines
