"""Options of the ``safety`` group: validation, precedence, vetting, header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.config import RunSettings
from harness.testing import write_fake_checkpoint
from plugins import options, state
from plugins.options import (
    ALLOW_PICKLE,
    BACKEND,
    BATCH_SIZE,
    DEVICE,
    DTYPE,
    HARM_THRESHOLD,
    MAX_NEW_TOKENS,
    MODEL,
    OPTIONS,
    REPORT_DIR,
    SEED,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    # "auto" may import torch to look for a GPU; inside an in-process pytester
    # run that import would be undone afterwards, which torch does not survive.
    monkeypatch.setenv("SAFETY_DEVICE", "cpu")


def settings_for(pytester: pytest.Pytester, *args: str) -> options.ResolvedSettings:
    config = pytester.parseconfigure(*args)
    return config.stash[state.RESOLVED_KEY]


def test_every_option_is_in_the_safety_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["safety gates for LLM checkpoints:"])
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"*{option.flag}*"])
        assert option.env in result.stdout.str().replace("\n", " ")


def test_help_defaults_match_run_settings() -> None:
    defaults = RunSettings()
    for option in OPTIONS:
        found = re.search(r"\(default: ([^)]+)\)", option.help)
        if found:
            expected = option.parse(found.group(1))
            assert getattr(defaults, option.field) == expected, option.flag


BAD_VALUES = [
    (BATCH_SIZE, "0", "expected a whole number >= 1; got '0'"),
    (MAX_NEW_TOKENS, "many", "expected a whole number >= 1; got 'many'"),
    (HARM_THRESHOLD, "1.5", "expected a rate between 0 and 1"),
    (BACKEND, "tpu", "expected one of auto, hf, vllm"),
    (DTYPE, "int8", "expected one of auto, float32, bfloat16, float16"),
    (DEVICE, "gpu", "expected auto, cpu, mps, cuda or cuda:N"),
    (SEED, "-1", "expected a whole number >= 0"),
    (MODEL, "no-such-dir", "no checkpoint directory at 'no-such-dir'"),
]


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [pytest.param(*bad, id=bad[0].removeprefix("--")) for bad in BAD_VALUES],
)
def test_bad_value_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, flag: str, value: str, says: str
) -> None:
    result = pytester.runpytest(f"{flag}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument {flag}: {says}*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_bad_environment_value_names_variable_and_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFETY_BATCH_SIZE", "zero")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --batch-size (from environment variable SAFETY_BATCH_SIZE='zero')*"]
    )
    assert "Traceback" not in result.stderr.str()


def test_bad_ini_value_names_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsafety_harm_threshold = 2\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --harm-threshold (from ini option safety_harm_threshold in *tox.ini*"]
    )


def test_precedence_is_cli_then_env_then_ini_then_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\nsafety_batch_size = 2\nsafety_seed = 7\nsafety_dtype = float16\n"
    )
    monkeypatch.setenv("SAFETY_BATCH_SIZE", "3")
    monkeypatch.setenv("SAFETY_SEED", "8")
    resolved = settings_for(pytester, f"{BATCH_SIZE}=4")
    s = resolved.settings
    assert (s.batch_size, s.seed, s.dtype, s.max_new_tokens) == (4, 8, "float16", 64)
    assert resolved.sources["batch_size"] == "command line"
    assert resolved.sources["seed"] == "environment"
    assert resolved.sources["dtype"] == "ini"
    assert resolved.sources["max_new_tokens"] == "default"


def test_flags_can_be_turned_off_on_the_command_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFETY_ALLOW_PICKLE", "yes")
    assert settings_for(pytester).settings.allow_pickle is True
    assert settings_for(pytester, "--no-allow-pickle").settings.allow_pickle is False


def test_percent_threshold_and_model_lists(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        write_fake_checkpoint(pytester.path / name)
    monkeypatch.setenv("SAFETY_MODEL", "a, b")
    s = settings_for(pytester, f"{HARM_THRESHOLD}=5%").settings
    assert s.harm_threshold == pytest.approx(0.05)
    assert s.models == ("a", "b")
    cli = settings_for(pytester, MODEL, "c", MODEL, "a").settings
    assert cli.models == ("c", "a")  # the command line replaces, not extends


def test_ini_paths_are_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    write_fake_checkpoint(pytester.path / "models" / "m1")
    pytester.makeini(
        "[pytest]\nsafety_model =\n    models/m1\nsafety_report_dir = out\n"
    )
    sub = pytester.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        s = settings_for(pytester, f"--rootdir={pytester.path}").settings
    assert s.models == (str(pytester.path / "models" / "m1"),)
    assert s.report_dir == pytester.path / "out"


def test_pickled_checkpoint_needs_allow_pickle(pytester: pytest.Pytester) -> None:
    write_fake_checkpoint(pytester.path / "old", pickled=True)
    result = pytester.runpytest(MODEL, "old")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --model old: *pickled weights*--allow-pickle*"]
    )
    assert settings_for(pytester, MODEL, "old", ALLOW_PICKLE).settings.allow_pickle


def test_directory_without_config_is_refused(pytester: pytest.Pytester) -> None:
    pytester.mkdir("not-a-model")
    result = pytester.runpytest(MODEL, "not-a-model")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --model not-a-model: *neither config.json*"])


def test_unavailable_vllm_is_a_usage_error(pytester: pytest.Pytester) -> None:
    from harness.backends.vllm import vllm_importable

    if vllm_importable():
        pytest.skip("vllm is installed here")
    write_fake_checkpoint(pytester.path / "m")
    result = pytester.runpytest(MODEL, "m", BACKEND, "vllm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --backend vllm: *pip install*[vllm]*"])


def test_header_shows_settings_sources_and_backend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_checkpoint(pytester.path / "ckpt")
    monkeypatch.setenv("SAFETY_MAX_NEW_TOKENS", "32")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(MODEL, "ckpt", DEVICE, "cpu", REPORT_DIR, "out")
    result.stdout.fnmatch_lines(
        [
            "safety: subjects: ckpt (ckpt); baseline: none",
            "safety: backend: hf (auto: vllm is not installed); device=cpu [cli] "
            "dtype=auto batch-size=auto max-new-tokens=32 [env] max-prompts=all "
            "seed=0",
            "safety: harm-threshold=0.1 over-refusal-threshold=0.25 "
            "report-dir=out [cli] allow-pickle=off trust-remote-code=off repair=off",
            "safety: threads: * threads (*)",
        ]
    )


def test_header_without_model_says_suites_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["safety: no checkpoint under test (--model PATH)*"])
    assert result.ret == 0


def test_same_names_get_distinct_subjects(pytester: pytest.Pytester) -> None:
    write_fake_checkpoint(pytester.path / "a" / "ckpt")
    write_fake_checkpoint(pytester.path / "b" / "ckpt")
    config = pytester.parseconfigure(MODEL, "a/ckpt", MODEL, "b/ckpt", MODEL, "a/ckpt")
    subjects = config.stash[state.SUBJECTS_KEY]
    assert [(s.name, s.ref) for s in subjects] == [
        ("ckpt", "a/ckpt"),
        ("ckpt-2", "b/ckpt"),
    ]


README = Path(__file__).parents[1] / "docs" / "options.md"


def readme_options_table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("| option | default | meaning |")
    end = text.find("\n\n", start)
    return text[start : len(text) if end < 0 else end + 1]


def test_readme_options_table_is_generated_from_run_settings() -> None:
    # Paste options.options_table() into docs/options.md after changing RunSettings.
    assert readme_options_table() == options.options_table()


def test_readme_table_names_every_option_with_its_default() -> None:
    rows = {
        row.split(" | ")[0].strip("| `").split(" ")[0]: row.split(" | ")[1]
        for row in readme_options_table().splitlines()[2:]
    }
    assert list(rows) == [option.flag for option in OPTIONS]
    defaults = RunSettings()
    for option in OPTIONS:
        shown = rows[option.flag].strip("`")
        if shown != "–":
            assert option.parse(shown) == getattr(defaults, option.field), option.flag


def test_choices_and_help_come_from_run_settings() -> None:
    field = RunSettings.model_fields["backend"]
    backend = options.option_for(BACKEND)
    assert backend.choices == ("auto", "hf", "vllm")
    assert backend.help.startswith(field.description or "?")
    assert options.option_for(DTYPE).choices == (
        "auto",
        "float32",
        "bfloat16",
        "float16",
    )
    for option in OPTIONS:
        assert option.meaning == RunSettings.model_fields[option.field].description
