"""Run settings reach localization; the environment reaches the header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config import RunSettings, Subject
from harness.gate import layers
from harness.localization import profile
from harness.testing import write_fake_checkpoint
from plugins.options import MODEL, OPTIONS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    monkeypatch.setenv("SAFETY_DEVICE", "cpu")  # no torch import for "auto"


def test_localization_in_the_suites_takes_the_run_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def locate(model: str, **kwargs: Any) -> str:
        seen.update(kwargs, model=model)
        return "profile"

    monkeypatch.setattr("harness.gate.layers.locate_safety_layers", locate)
    settings = RunSettings(
        batch_size=3, dtype="float16", device="cpu", report_dir=tmp_path
    )
    assert layers.locate(settings, Subject.from_ref("ckpt")) == "profile"
    assert seen["settings"].batch_size == 3
    assert (seen["load_options"].dtype, seen["load_options"].device) == (
        "float16",
        "cpu",
    )


def test_profile_cache_key_changes_with_the_procedure_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = profile.cache_key("f", {}, {}, "float32@cpu")
    monkeypatch.setattr(profile, "PROCEDURE_VERSION", profile.PROCEDURE_VERSION + 1)
    assert profile.cache_key("f", {}, {}, "float32@cpu") != before


def test_header_shows_the_library_environment_and_the_weights(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_checkpoint(pytester.path / "ckpt")
    monkeypatch.setenv("SAFETY_HARNESS_ZOO_PROFILE", "ci")
    monkeypatch.setenv("SAFETY_HARNESS_ZOO_DIR", str(pytester.path / "zoo"))
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(MODEL, "ckpt", MODEL, "zoo:smol-aligned")
    out = result.stdout.str()
    zoo = pytester.path / "zoo"
    assert (
        f"safety: environment: SAFETY_HARNESS_ZOO_PROFILE=ci [env] "
        f"SAFETY_HARNESS_ZOO_DIR={zoo} [env] SAFETY_HARNESS_PROFILE_DIR="
    ) in out
    assert " SAFETY_HARNESS_BASELINE_DIR=" in out
    assert (
        f"safety: weights: ckpt -> {pytester.path / 'ckpt'}; "
        f"zoo:smol-aligned -> {zoo}/smol-aligned-"
    ) in out
    assert "(not built yet)" in out
    assert result.ret == 0


def test_bad_zoo_profile_variable_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_checkpoint(pytester.path / "ckpt")
    monkeypatch.setenv("SAFETY_HARNESS_ZOO_PROFILE", "tiny")
    result = pytester.runpytest(MODEL, "ckpt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: safety: SAFETY_HARNESS_ZOO_PROFILE='tiny'*"])
