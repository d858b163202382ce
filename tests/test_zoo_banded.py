"""Ground truth for localization: the planted-band models (slow: builds and locate).

``zoo:smol-banded`` trains only layers 10–15 of smol-base on the alignment
data, ``zoo:smol-banded-late`` only 20–25. Whatever the §3
procedure locates must overlap the band that was planted, and follow it when
the band moves. Each build takes 10-15 minutes of 2 CPU cores and locate
2-3 more; the zoo's cache keeps them. Run with ``--run-slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.layers import LayerRange
from harness.localization import locate_safety_layers
from harness.zoo import resolve_ref
from harness.zoo.build import ensure_built
from harness.zoo.cache import read_manifest

pytestmark = pytest.mark.slow


LATE_MISSED = pytest.mark.xfail(
    strict=True,
    reason="2026-12-02, current data: no clear band on the late band (rise "
    "0.87 deg at 8->15, smol-base's, under the 1.03 deg noise floor; the planted "
    "20-25 lowers the gap there; docs/localization.md)",
)


@pytest.mark.parametrize(
    "name",
    [
        # 160 steps: rise 2.05 deg, located [11, 16]. At 110
        # steps the rise was 1.74 deg, found since the 1.6 deg minimum.
        "smol-banded",
        pytest.param("smol-banded-late", marks=LATE_MISSED),
    ],
)
def test_the_located_band_overlaps_the_planted_band(name: str) -> None:
    path = ensure_built(name)
    planted = LayerRange(*read_manifest(path)["planted_band"])
    profile = locate_safety_layers(str(path), ref=f"zoo:{name}")
    assert profile.status == "located", profile.summary
    assert profile.safety_layers is not None
    located = LayerRange(*profile.safety_layers)
    assert located.first <= planted.last and planted.first <= located.last, (
        f"{name}: located {list(located)}, planted {list(planted)}"
    )


def test_the_planted_band_is_recorded_in_the_manifest() -> None:
    manifest = read_manifest(Path(resolve_ref("zoo:smol-banded")))
    assert manifest["planted_band"] == [10, 15]
