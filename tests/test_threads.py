"""Thread count from the cores this process may use and the xdist workers."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.threads import (
    ThreadPlan,
    cgroup_cores,
    configure_threads,
    plan_threads,
    quota_cores,
    worker_cores,
)


def test_workers_share_the_cores() -> None:
    plan = plan_threads({"PYTEST_XDIST_WORKER_COUNT": "2"}, affinity=2, cgroup=None)
    assert (plan.cores, plan.workers, plan.threads) == (2, 2, 1)


def test_one_process_takes_every_usable_core() -> None:
    assert plan_threads({}, affinity=8, cgroup=None).threads == 8


def test_the_least_limit_wins() -> None:
    plan = plan_threads({"OMP_NUM_THREADS": "6"}, affinity=16, cgroup=4)
    assert plan.cores == 4
    assert plan.limits == ("affinity 16", "cgroup quota 4", "OMP_NUM_THREADS 6")
    assert plan_threads({"OMP_NUM_THREADS": "3"}, affinity=16, cgroup=4).cores == 3


def test_more_workers_than_cores_still_get_one_thread() -> None:
    plan = plan_threads({"PYTEST_XDIST_WORKER_COUNT": "8"}, affinity=2, cgroup=None)
    assert plan.threads == 1


def test_bad_values_are_ignored() -> None:
    env = {"OMP_NUM_THREADS": "lots", "PYTEST_XDIST_WORKER_COUNT": "0"}
    plan = plan_threads(env, affinity=4, cgroup=None)
    assert (plan.cores, plan.workers, plan.threads) == (4, 1, 4)


@pytest.mark.parametrize(
    ("quota", "period", "cores"),
    [
        ("max", "100000", None),
        ("-1", "100000", None),
        ("150000", "100000", 2),
        ("50000", "100000", 1),
        ("400000", "100000", 4),
        ("x", "y", None),
    ],
)
def test_quota_in_whole_cores(quota: str, period: str, cores: int | None) -> None:
    assert quota_cores(quota, period) == cores


def test_cgroup_v2_then_v1(tmp_path: Path) -> None:
    v2, quota, period = tmp_path / "cpu.max", tmp_path / "q", tmp_path / "p"
    assert cgroup_cores(v2, quota, period) is None
    quota.write_text("200000\n")
    period.write_text("100000\n")
    assert cgroup_cores(v2, quota, period) == 2
    v2.write_text("300000 100000\n")
    assert cgroup_cores(v2, quota, period) == 3


def test_describe_names_the_limits() -> None:
    plan = ThreadPlan(cores=2, workers=2, threads=1, limits=("affinity 2",))
    assert plan.describe() == "1 threads (2 cores: affinity 2; 2 workers)"


def test_configure_before_torch_sets_the_environment() -> None:
    code = (
        "import sys; from harness.threads import configure_threads, ThreadPlan;"
        "configure_threads(ThreadPlan(2, 2, 1, ()));"
        "assert 'torch' not in sys.modules;"
        "import torch; print(torch.get_num_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_configure_after_torch_resizes_its_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")  # restored after the test
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    try:
        configure_threads(ThreadPlan(cores=1, workers=1, threads=1, limits=()))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_each_worker_pins_vllm_to_its_own_cores() -> None:
    mask = sorted(os.sched_getaffinity(0))
    plan = ThreadPlan(
        cores=len(mask), workers=2, threads=max(1, len(mask) // 2), limits=()
    )
    first, second = worker_cores(plan, "gw0"), worker_cores(plan, "gw1")
    assert first == mask[: plan.threads]
    if len(mask) >= 2:
        assert second == mask[plan.threads : 2 * plan.threads]
    assert worker_cores(dataclasses.replace(plan, workers=1), "gw0") is None
    assert worker_cores(plan, None) is None
    assert worker_cores(plan, "master") is None
