"""Counters under real concurrency: 8 processes, one connection each, on one PostgreSQL row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from django_supahybrid.counters.sharded import ShardedCounter
from tests.testapp.models import Counted, CountedShard

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 8
PER_PROCESS = 1000

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run(jobs: list[tuple[str, int]], pk: int) -> list[dict[str, int]]:
    """Start one worker per ``(mode, n)``, release them together, return their summaries."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # The workers import what this process imports (a PYTHONPATH of its own included).
        "PYTHONPATH": os.pathsep.join(
            [
                str(ROOT),
                *filter(None, [os.environ.get("PYTHONPATH")]),
            ]
        ),
    }
    db_name = connection.settings_dict["NAME"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.counter_worker", mode, db_name, str(pk), str(n)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode, n in jobs
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_no_lost_increment() -> None:
    row = Counted.objects.create(hits=0)
    results = _run([("increment", PER_PROCESS)] * PROCESSES, row.pk)
    assert sum(r["done"] for r in results) == PROCESSES * PER_PROCESS
    row.refresh_from_db()
    assert row.hits == PROCESSES * PER_PROCESS == 8000


def test_floor_holds_under_concurrency() -> None:
    start = 3000  # 8 x 1,000 decrements ask for 8,000: 3,000 succeed, 5,000 are refused
    row = Counted.objects.create(hits=start)
    results = _run([("floor", PER_PROCESS)] * PROCESSES, row.pk)
    row.refresh_from_db()
    assert row.hits == 0
    assert sum(r["done"] for r in results) == start
    assert sum(r["refused"] for r in results) == PROCESSES * PER_PROCESS - start


def test_sharded_total_is_exact_with_concurrent_folds() -> None:
    row = Counted.objects.create(hits=5)
    hits = ShardedCounter(CountedShard, "hits", slots=8)
    jobs = [("shard", PER_PROCESS)] * PROCESSES + [("fold", 200)]
    results = _run(jobs, row.pk)
    assert sum(r["done"] for r in results[:PROCESSES]) == PROCESSES * PER_PROCESS
    assert results[-1]["folds"] == 200
    assert hits.total(row) == 5 + PROCESSES * PER_PROCESS
    assert hits.fold(row) == 5 + PROCESSES * PER_PROCESS
    assert not CountedShard.objects.exists()


def test_sharded_total_is_exact_with_adds_inside_transactions() -> None:
    row = Counted.objects.create(hits=0)
    hits = ShardedCounter(CountedShard, "hits", slots=8)
    per_process = PER_PROCESS // 4
    jobs = [("shard-atomic", per_process)] * PROCESSES + [("fold", 50)]
    results = _run(jobs, row.pk)
    assert sum(r["done"] for r in results[:PROCESSES]) == PROCESSES * per_process
    assert CountedShard.objects.filter(counted=row).count() <= 8
    assert hits.total(row) == 3 * PROCESSES * per_process == 6000
