"""Counters: increments per second on one hot row, on 8 distinct rows and on a sharded counter.

Every worker is its own process with its own connection (started once, spawn), so the
figures are PostgreSQL's row locks and commits, not Python's GIL. The floor is a bare
``SELECT 1`` round trip at the same number of workers, in the same run. The same workers
then run the naive read-modify-write (``obj.votes += 1; obj.save()``) against
:func:`~django_supahybrid.counters.increment` and count the updates each one lost.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks import common

TITLE = "Counters: hot row, distinct rows, sharded counter"

WORKERS = (1, 4, 8, 16)
DISTINCT_ROWS = 8
SLOTS = 16
SCENARIOS = {
    "select1": "`SELECT 1` round trip (floor)",
    "hot": "`increment()`, one hot row",
    "distinct": f"`increment()`, {DISTINCT_ROWS} distinct rows",
    "sharded": f"`ShardedCounter.add()`, one row, {SLOTS} slots",
}
# Row indexes: 0-7 take the hot and distinct increments, then one row per other use.
_SHARDED, _NAIVE, _ATOMIC = DISTINCT_ROWS, DISTINCT_ROWS + 1, DISTINCT_ROWS + 2


def _operations(index: int) -> dict[str, Callable[[], object]]:
    from django.db import connection

    from benchmarks.counter_models import BenchCounter, BenchCounterShard
    from django_supahybrid.counters import increment
    from django_supahybrid.hotcounters import ShardedCounter

    rows = list(BenchCounter.objects.order_by("pk"))
    votes = ShardedCounter(BenchCounterShard, "votes", slots=SLOTS)

    def select1() -> object:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    def naive() -> None:
        row = BenchCounter.objects.get(pk=rows[_NAIVE].pk)
        row.votes += 1
        row.save(update_fields=["votes"])

    return {
        "select1": select1,
        "hot": lambda: increment(rows[0], "votes"),
        "distinct": lambda: increment(rows[index % DISTINCT_ROWS], "votes"),
        "sharded": lambda: votes.add(rows[_SHARDED]),
        "naive": naive,
        "atomic": lambda: increment(rows[_ATOMIC], "votes"),
    }


def _worker(index: int, inbox: Any, outbox: Any) -> None:
    """A benchmark process: set Django up once, then run the tasks it is sent."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    import django

    django.setup()
    operations = _operations(index)
    outbox.put(index)
    while (task := inbox.get()) is not None:
        kind, seconds, count, start_at = task
        operation = operations[kind]
        time.sleep(max(0.0, start_at - time.time()))
        done = 0
        if seconds:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                operation()
                done += 1
        else:
            for _ in range(count):
                operation()
            done = count
        outbox.put(done)


def _create_tables() -> None:
    from django.db import connection

    from benchmarks.counter_models import BenchCounter, BenchCounterShard

    with connection.cursor() as cursor:
        for model in (BenchCounterShard, BenchCounter):
            cursor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table} CASCADE")
    with connection.schema_editor() as editor:
        editor.create_model(BenchCounter)
        editor.create_model(BenchCounterShard)
    BenchCounter.objects.bulk_create([BenchCounter() for _ in range(_ATOMIC + 1)])


class _Pool:
    """``max(WORKERS)`` processes; each round releases the first ``n`` at one instant."""

    def __init__(self, size: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.outbox = ctx.Queue()
        self.inboxes = [ctx.Queue() for _ in range(size)]
        self.procs = [
            ctx.Process(target=_worker, args=(i, inbox, self.outbox), daemon=True)
            for i, inbox in enumerate(self.inboxes)
        ]
        for proc in self.procs:
            proc.start()
        for _ in self.procs:
            self.outbox.get(timeout=180)

    def round(self, kind: str, workers: int, *, seconds: float = 0.0, count: int = 0) -> int:
        start_at = time.time() + 0.2
        for inbox in self.inboxes[:workers]:
            inbox.put((kind, seconds, count, start_at))
        return sum(self.outbox.get(timeout=300) for _ in range(workers))

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()


def _plot(rates: dict[tuple[str, int], float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, label in SCENARIOS.items():
        style = "--" if kind == "select1" else "-"
        points = [rates[kind, n] for n in WORKERS]
        ax.plot(WORKERS, points, marker="o", linestyle=style, label=label.replace("`", ""))
    ax.set_xscale("log", base=2)
    ax.set_xticks(WORKERS, [str(n) for n in WORKERS])
    ax.set_yscale("log")
    ax.set_xlabel("concurrent workers (processes, one connection each)")
    ax.set_ylabel("operations per second")
    ax.set_title("Counter increments vs. concurrency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(common.REPORTS / "counters.png", dpi=110)
    plt.close(fig)


def run(quick: bool) -> str:
    common.django_setup()
    _create_tables()
    from benchmarks.counter_models import BenchCounter, BenchCounterShard
    from django_supahybrid.hotcounters import ShardedCounter

    seconds = 0.3 if quick else 1.5
    per_worker = 50 if quick else 250
    pool = _Pool(max(WORKERS))
    try:
        done = {(k, n): pool.round(k, n, seconds=seconds) for k in SCENARIOS for n in WORKERS}
        lost_workers = 8
        for kind in ("naive", "atomic"):
            pool.round(kind, lost_workers, count=per_worker)
    finally:
        pool.close()
    rates = {key: value / seconds for key, value in done.items()}
    rows = list(BenchCounter.objects.order_by("pk").values_list("votes", flat=True))
    counted = sum(done["hot", n] + done["distinct", n] for n in WORKERS)
    sharded = ShardedCounter(BenchCounterShard, "votes", slots=SLOTS)
    sharded_total = sharded.total(BenchCounter.objects.order_by("pk")[_SHARDED])
    sharded_done = sum(done["sharded", n] for n in WORKERS)
    _plot(rates)

    table_rows: list[list[object]] = []
    for kind, label in SCENARIOS.items():
        cells = [f"{rates[kind, n]:,.0f} ({rates[kind, n] / rates['select1', n]:.2f})"
                 for n in WORKERS]  # fmt: skip
        table_rows.append([label, *cells])
    expected = lost_workers * per_worker
    lost_rows: list[list[object]] = [
        ["read-modify-write (`obj.votes += 1; obj.save()`)", expected, rows[_NAIVE],
         expected - rows[_NAIVE]],
        ["`increment(obj, \"votes\")`", expected, rows[_ATOMIC], expected - rows[_ATOMIC]],
    ]  # fmt: skip
    exact = "yes" if (sum(rows[:DISTINCT_ROWS]), sharded_total) == (counted, sharded_done) else "NO"
    return "\n".join([
        f"Operations per second, each cell with the ratio to the `SELECT 1` floor at the same "
        f"number of workers in parentheses; {seconds:g} s per cell, every worker a process "
        "with its own connection, default `synchronous_commit` (each increment is its own "
        "committed transaction).",
        "",
        common.table(["operation", *(f"{n} workers" for n in WORKERS)], table_rows),
        "",
        "![Operations per second against concurrent workers](benchmarks/counters.png)",
        "",
        f"Every increment was counted exactly (database totals equal the operations the "
        f"workers made, sharded total read with `total()`): **{exact}**.",
        "",
        f"### Lost updates: {lost_workers} workers x {per_worker} increments of one row",
        "",
        common.table(["pattern", "expected", "stored", "lost"], lost_rows),
    ])  # fmt: skip
