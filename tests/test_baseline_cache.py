"""The baseline cache: computed once, even by two processes at the same time."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from harness.baseline_cache import (
    BaselineCache,
    BaselineCacheError,
    BaselineKey,
    settings_digest,
)
from plugins.engine import backend_hooks

KEY = BaselineKey(fingerprint="f" * 64, settings_digest="s1", suite="harm")


def _worker(directory: str, log: str, start: Any, results: Any) -> None:
    def compute() -> dict[str, Any]:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("computed\n")
        time.sleep(0.5)  # long enough for the other process to wait on the lock
        return {"harm_rate": 0.25, "verdicts": ["refused", "complied"]}

    start.wait()
    results.put(BaselineCache(directory).get_or_compute(KEY, compute))


def test_two_processes_compute_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(2), context.Queue()
    log = tmp_path / "computed.log"
    workers = [
        context.Process(
            target=_worker, args=(str(tmp_path / "cache"), str(log), start, results)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    got = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert log.read_text().splitlines() == ["computed"]
    assert got[0] == got[1] == {"harm_rate": 0.25, "verdicts": ["refused", "complied"]}
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_a_second_run_loads_without_computing(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)
    assert cache.get_or_compute(KEY, lambda: {"n": 3}) == {"n": 3}

    def fail() -> dict[str, Any]:
        raise AssertionError("computed again")

    assert BaselineCache(tmp_path).get_or_compute(KEY, fail) == {"n": 3}
    other = KEY.model_copy(update={"suite": "over_refusal"})
    assert cache.get(other) is None


def test_an_unreadable_or_foreign_entry_is_recomputed(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)
    cache.path(KEY).write_text("{half a fi")
    assert cache.get(KEY) is None
    cache.path(KEY).write_text(
        json.dumps({"schema_version": 1, "key": {}, "result": {}})
    )
    assert cache.get_or_compute(KEY, lambda: {"fresh": True}) == {"fresh": True}


def test_a_failed_compute_leaves_nothing(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)

    def broken() -> dict[str, Any]:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(KEY, broken)
    assert not cache.path(KEY).exists()


def test_a_held_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    from filelock import FileLock

    cache = BaselineCache(tmp_path, timeout_s=0.1)
    holder = FileLock(str(cache.path(KEY)) + ".lock")
    context = multiprocessing.get_context("fork")
    with holder:
        # filelock locks are re-entrant within a process: wait from another one.
        process = context.Process(target=_expect_timeout, args=(str(tmp_path),))
        process.start()
        process.join(timeout=30)
    assert process.exitcode == 0


def _expect_timeout(directory: str) -> None:
    try:
        BaselineCache(directory, timeout_s=0.1).get_or_compute(KEY, dict)
    except BaselineCacheError as e:
        assert "waited 0.1 s for another process" in str(e)
        return
    raise SystemExit(1)


def test_settings_digest_is_order_free_and_key_names_are_safe() -> None:
    assert settings_digest({"a": 1, "b": 2}) == settings_digest({"b": 2, "a": 1})
    assert settings_digest({"a": 1}) != settings_digest({"a": 2})
    odd = KEY.model_copy(update={"suite": "../harm suite"})
    assert BaselineCache("/c").path(odd).parent == Path("/c")


def test_the_backend_hooks_are_part_of_the_key(pytester: pytest.Pytester) -> None:
    # A conftest that scripts the answers must never share cached answers with
    # the real model's: the plugins implementing the backend hook are keyed.
    plain = pytester.parseconfigure()
    assert backend_hooks(plain) == []
    pytester.makeconftest(
        "def pytest_safety_create_backend(subject, settings):\n    return None\n"
    )
    scripted = pytester.parseconfigure(pytester.path)
    hooks = backend_hooks(scripted)
    assert len(hooks) == 1
    assert hooks[0].endswith("conftest.py")
    assert str(pytester.path.parent) not in hooks[0]  # stable across checkouts
