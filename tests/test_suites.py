"""Suite YAML and JSONL prompt sets: validation errors name the file and field."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.judges.keyword import KeywordJudge
from harness.prompts import TemplateKind
from harness.suites import load_prompts, load_suite

HARM_YAML = Path(__file__).parents[1] / "suites" / "harm" / "suite.yaml"


def prompt(i: int, category: str = "fraud", **extra: str) -> str:
    record = {
        "id": f"p{i}",
        "category": category,
        "prompt": f"request {i}",
        "source": "test",
        "licence": "CC0-1.0",
        **extra,
    }
    return json.dumps(record)


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    (tmp_path / "prompts.jsonl").write_text(f"{prompt(1)}\n\n{prompt(2, 'drugs')}\n")
    (tmp_path / "suite.yaml").write_text("name: demo\nprompts: prompts.jsonl\n")
    return tmp_path


def test_minimal_suite_loads_with_defaults(suite_dir: Path) -> None:
    suite = load_suite(suite_dir / "suite.yaml")
    assert suite.name == "demo"
    assert [p.id for p in suite.prompts] == ["p1", "p2"]
    assert suite.config.template is TemplateKind.AUTO
    assert suite.build_judge() is None  # the run's judge is used


def test_judge_options_come_from_yaml(suite_dir: Path) -> None:
    (suite_dir / "suite.yaml").write_text(
        "name: demo\nprompts: prompts.jsonl\ntemplate: alpaca\n"
        "judge:\n  name: keyword\n  options:\n    prefixes: [nope]\n"
    )
    suite = load_suite(suite_dir / "suite.yaml")
    judge = suite.build_judge()
    assert isinstance(judge, KeywordJudge)
    assert judge.config.prefixes == ["nope"]
    assert suite.config.template is TemplateKind.ALPACA


@pytest.mark.parametrize(
    ("yaml_text", "field", "says"),
    [
        ("name: demo\nprompts: prompts.jsonl\nthreshold: 0.1\n", "threshold", "Extra"),
        ("name: demo\nprompts: prompts.jsonl\ntemplate: fancy\n", "template", "Input"),
        ("name: demo\n", "prompts", "Field required"),
        ("name: demo\nprompts: gone.jsonl\n", "prompts", "does not exist"),
        (
            "name: demo\nprompts: prompts.jsonl\nworst_examples: -1\n",
            "worst_examples",
            "",
        ),
    ],
)
def test_yaml_errors_name_file_and_field(
    suite_dir: Path, yaml_text: str, field: str, says: str
) -> None:
    path = suite_dir / "suite.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as raised:
        load_suite(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: field '{field}'")
    assert says in message


def test_judge_option_error_names_the_nested_field(suite_dir: Path) -> None:
    path = suite_dir / "suite.yaml"
    path.write_text(
        "name: demo\nprompts: prompts.jsonl\njudge:\n  options:\n    prefixs: [x]\n"
    )
    with pytest.raises(
        ConfigError, match=r"suite\.yaml: field 'judge\.options\.prefixs'"
    ):
        load_suite(path).build_judge()


def test_unknown_judge_names_the_field(suite_dir: Path) -> None:
    path = suite_dir / "suite.yaml"
    path.write_text("name: demo\nprompts: prompts.jsonl\njudge:\n  name: oracle\n")
    with pytest.raises(
        ConfigError, match=r"field 'judge\.name': unknown judge 'oracle'"
    ):
        load_suite(path).build_judge()


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_suite(path)


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([prompt(1), "{not json"], ":2: invalid JSON"),
        ([prompt(1), prompt(1)], ":2: duplicate id 'p1' (first on line 1)"),
        ([prompt(1, licence="")], ":1: field 'licence'"),
        ([prompt(1, note="x")], ":1: field 'note': Extra inputs"),
        (["[1, 2]"], ":1: expected a JSON object"),
        ([""], ": no prompts in the file"),
    ],
)
def test_jsonl_errors_name_the_line(
    tmp_path: Path, lines: list[str], says: str
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError) as raised:
        load_prompts(path)
    assert f"{path}{says}" in str(raised.value)


def test_the_harm_suite_is_valid_and_large_enough() -> None:
    suite = load_suite(HARM_YAML)
    categories = {p.category for p in suite.prompts}
    assert suite.name == "harm"
    assert len(suite.prompts) >= 200
    assert len(categories) >= 8
    assert all(p.source and p.licence for p in suite.prompts)
    assert isinstance(suite.build_judge(), KeywordJudge)


def test_subsample_spreads_over_categories_and_keeps_order() -> None:
    suite = load_suite(HARM_YAML)
    categories = {p.category for p in suite.prompts}
    small = suite.subsample(len(categories) * 2, seed=3)
    assert len(small.prompts) == len(categories) * 2
    counts = Counter(p.category for p in small.prompts)
    assert set(counts) == categories and set(counts.values()) == {2}
    order = {p.id: i for i, p in enumerate(suite.prompts)}
    assert [order[p.id] for p in small.prompts] == sorted(
        order[p.id] for p in small.prompts
    )
    assert suite.subsample(5, seed=3).prompts != suite.subsample(5, seed=4).prompts
    assert suite.subsample(5, seed=3) == suite.subsample(5, seed=3)


def test_subsample_without_a_limit_or_above_the_size_is_the_suite() -> None:
    suite = load_suite(HARM_YAML)
    assert suite.subsample(None) is suite
    assert suite.subsample(len(suite.prompts)) is suite
