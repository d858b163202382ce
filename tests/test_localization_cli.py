"""``locate`` and ``zoo`` options come from the settings models, help and defaults."""

from __future__ import annotations

import argparse

import pytest
from pydantic import BaseModel, Field

from harness.cli import build_parser
from harness.cli_options import add_model_options, model_from_args
from harness.errors import ConfigError
from harness.layers import LayerRange
from harness.localization.cli import load_options_from_args, settings_from_args
from harness.localization.settings import LocalizationSettings


def _locate(*extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["locate", "--model", "m", "--out", "o", *extra])


def test_no_option_means_the_models_defaults() -> None:
    assert settings_from_args(_locate()) == LocalizationSettings()


def test_options_reach_nested_settings() -> None:
    settings = settings_from_args(
        _locate(
            "--min-rise", "1", "--alpha", "1.2", "--upper-window=-1,3",
            "--initial-range", "3,5", "--no-o-proj", "--over-rejection-limit", "60",
            "--batch-size", "8",
        )
    )  # fmt: skip
    assert settings.gap.min_rise_deg == 1.0
    assert settings.search.alpha == 1.2
    assert settings.search.upper_window == (-1, 3)
    assert settings.initial_range == LayerRange(3, 5)
    assert isinstance(settings.initial_range, LayerRange)
    assert not settings.include_o_proj
    assert settings.over_rejection_limit == 60
    assert settings.batch_size == 8
    assert load_options_from_args(_locate("--device", "cpu")).device == "cpu"


def test_invalid_values_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="initial_range"):
        settings_from_args(_locate("--initial-range", "3,1"))
    with pytest.raises(ConfigError, match="min_rise_deg"):
        settings_from_args(_locate("--min-rise", "-1"))


def _subparser(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[word]
            return found
    raise LookupError(word)


@pytest.mark.parametrize("command", [["locate"], ["zoo", "list"], ["zoo", "build"]])
def test_every_option_has_help_and_its_default(command: list[str]) -> None:
    sub = build_parser()
    for word in command:
        sub = _subparser(sub, word)
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings


def test_a_field_without_description_is_refused() -> None:
    class Bare(BaseModel):
        size: int = 3
        name: str = Field(default="x", description="a name")

    parser = argparse.ArgumentParser()
    with pytest.raises(KeyError, match=r"Bare.size has no description"):
        add_model_options(parser, Bare)
    add_model_options(parser, Bare, ["name"])
    assert "(default: x)" in parser.format_help()
    assert model_from_args(Bare, parser.parse_args([])) == Bare()
    assert model_from_args(Bare, parser.parse_args(["--name", "y"])).name == "y"
