"""One layer-range type, 0-based and inclusive, checked against the layer count."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.layers import LayerRange, check_range


def test_a_layer_range_is_a_plain_inclusive_pair() -> None:
    span = LayerRange(2, 5)
    assert span == (2, 5) and (span.first, span.last) == (2, 5)
    assert span.check(6) is span


@pytest.mark.parametrize(("first", "last"), [(-1, 2), (3, 2), (2, 6)])
def test_a_range_outside_the_model_names_its_layer_count(first: int, last: int) -> None:
    with pytest.raises(ConfigError, match=r"outside the model's 6 layers \[0, 5\]"):
        check_range(first, last, 6)
