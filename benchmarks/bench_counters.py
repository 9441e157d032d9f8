"""Counters: increments per second on one hot row, on 8 distinct rows and on a sharded counter.

Every worker is its own process with its own connection (started once, spawn), so the
figures are PostgreSQL's row locks and commits, not Python's GIL. Each operation runs
twice: alone (autocommit), and inside a transaction that stays open ``HOLD`` seconds after
it, as in a view under ``ATOMIC_REQUESTS`` that has more to do after counting, which is
when a row lock really queues writers. The floor is a ``SELECT 1`` round trip run the same
way, at the same number of workers, in the same run. The sharded counter also runs with
the slot choice of earlier releases (a random slot, ``INSERT ... ON CONFLICT``) so the two
compare in one run. On a shared machine one second of one cell says little, so the grid
runs ``ROUNDS`` short times, with the operations of one mode and number of workers next to
each other and the order reversed every other round, and each cell reports its total: the
operations that are compared saw the same load. Meanwhile a thread samples how many
sessions wait for a lock: that count shows the queues directly, whatever the load. The same
workers then run the naive read-modify-write (``obj.votes += 1; obj.save()``) against
:func:`~django_supahybrid.counters.increment` and count the updates each one lost.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import threading
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
    "random_slot": f"the same with a random slot (earlier releases), {SLOTS} slots",
}
ROUNDS = 6
# Row indexes: 0-7 take the hot and distinct increments, then one row per other use.
_SHARDED, _NAIVE, _ATOMIC, _RANDOM = range(DISTINCT_ROWS, DISTINCT_ROWS + 4)
HOLD = 0.005
NAME = "counters"
IMAGE = "counters.png"
MODES = {
    "autocommit": "each operation commits on its own",
    "held": f"each operation in a transaction that lasts {HOLD * 1000:g} ms more",
}


def _operations(index: int) -> dict[str, Callable[[], object]]:
    from django.db import connection, connections

    from benchmarks.counter_models import BenchCounter, BenchCounterShard
    from django_supahybrid.counters import increment
    from django_supahybrid.counters.sharded import ShardedCounter

    rows = list(BenchCounter.objects.order_by("pk"))
    votes = ShardedCounter(BenchCounterShard, "votes", slots=SLOTS)

    def select1() -> object:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    class RandomSlotCounter(ShardedCounter):
        """``add()`` as it was: any slot, waiting when another transaction holds it."""

        def add(self, owner: Any, by: int = 1, *, using: str | None = None) -> None:
            alias, t = self._names(using)
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {t['shard']} ({t['owner_col']}, {t['slot']}, {t['count']}) "
                    f"VALUES (%s, %s, %s) ON CONFLICT ({t['owner_col']}, {t['slot']}) DO UPDATE "
                    f"SET {t['count']} = {t['shard']}.{t['count']} + EXCLUDED.{t['count']}",
                    [self._pk(owner), random.randrange(self.slots), by],
                )

    random_votes = RandomSlotCounter(BenchCounterShard, "votes", slots=SLOTS)

    def naive() -> None:
        row = BenchCounter.objects.get(pk=rows[_NAIVE].pk)
        row.votes += 1
        row.save(update_fields=["votes"])

    return {
        "select1": select1,
        "hot": lambda: increment(rows[0], "votes"),
        "distinct": lambda: increment(rows[index % DISTINCT_ROWS], "votes"),
        "sharded": lambda: votes.add(rows[_SHARDED]),
        "random_slot": lambda: random_votes.add(rows[_RANDOM]),
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
    from django.db import transaction

    while (task := inbox.get()) is not None:
        kind, mode, seconds, count, start_at = task
        operation = operations[kind]
        if mode == "held":
            operation = _held(operation, transaction.atomic)
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


class _LockWaits:
    """A thread that counts, about every millisecond, the sessions waiting for a lock."""

    def __init__(self) -> None:
        self.samples: dict[object, list[int]] = {}
        self._window: tuple[object, float, float] = (None, 0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                while not self._stop.wait(0.001):
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    key, start, end = self._window
                    if start <= time.time() <= end:
                        self.samples.setdefault(key, []).append(cursor.fetchone()[0])
        finally:
            connection.close()

    def watch(self, key: object, start: float, end: float) -> None:
        """Count the samples taken from ``start`` to ``end`` (epoch seconds) for ``key``."""
        self._window = (key, start, end)

    def mean(self, key: object) -> float:
        values = self.samples.get(key, [])
        return sum(values) / len(values) if values else float("nan")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _held(operation: Callable[[], object], atomic: Any) -> Callable[[], object]:
    def run() -> None:
        with atomic():
            operation()
            time.sleep(HOLD)

    return run


def _create_tables() -> None:
    from django.db import connection

    from benchmarks.counter_models import BenchCounter, BenchCounterShard

    with connection.cursor() as cursor:
        for model in (BenchCounterShard, BenchCounter):
            cursor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table} CASCADE")
    with connection.schema_editor() as editor:
        editor.create_model(BenchCounter)
        editor.create_model(BenchCounterShard)
    BenchCounter.objects.bulk_create([BenchCounter() for _ in range(_RANDOM + 1)])


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
            self._get(timeout=180)

    def _get(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return int(self.outbox.get(timeout=1))
            except queue.Empty:
                dead = [p.exitcode for p in self.procs if not p.is_alive()]
                if dead or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"benchmark workers failed (exit codes {dead})") from None

    def round(
        self, kind: str, workers: int, mode: str = "autocommit", *,
        seconds: float = 0.0, count: int = 0, waits: _LockWaits | None = None,
    ) -> int:  # fmt: skip
        start_at = time.time() + 0.2
        if waits is not None:
            waits.watch((kind, mode, workers), start_at, start_at + seconds)
        for inbox in self.inboxes[:workers]:
            inbox.put((kind, mode, seconds, count, start_at))
        return sum(self._get(timeout=300) for _ in range(workers))

    def close(self) -> None:
        for proc, inbox in zip(self.procs, self.inboxes, strict=True):
            if proc.is_alive():
                inbox.put(None)
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()


def plot(data: dict[str, Any]) -> None:
    """Operations/s against workers, one panel per mode, the floor dashed; log scales."""
    plt = common.pyplot()
    workers = data["workers"]
    fig, axes = plt.subplots(
        2, 1, figsize=(common.FIGURE_WIDTH, 7.4), sharex=True, layout="constrained"
    )
    for ax, (mode, title) in zip(axes, data["modes"].items(), strict=True):
        for label, points in data["series"][mode].items():
            style = "--" if "floor" in label else "-"
            ax.plot(workers, points, marker="o", linestyle=style, label=label.replace("`", ""))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        common.plain_log_ticks(ax.xaxis, workers)
        common.plain_log_ticks(ax.yaxis, [50, 100, 200, 500, 1000, 2000, 5000])
        ax.set_ylabel("operations per second")
        ax.set_title(title[0].upper() + title[1:])
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("concurrent workers (processes, one connection each)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    common.save_figure(fig, IMAGE)


def _rate_table(rates: dict[tuple[str, str, int], float], mode: str) -> str:
    rows: list[list[object]] = []
    for kind, label in SCENARIOS.items():
        cells = [
            f"{rates[kind, mode, n]:,.0f} ({rates[kind, mode, n] / rates['select1', mode, n]:.2f})"
            for n in WORKERS
        ]
        rows.append([label, *cells])
    return common.table(["operation", *(f"{n} workers" for n in WORKERS)], rows)


def _ceiling_table(rates: dict[tuple[str, str, int], float]) -> str:
    rows: list[list[object]] = []
    for kind in ("sharded", "random_slot"):
        for mode in MODES:
            cells = [f"{rates[kind, mode, n] / rates['distinct', mode, n]:.2f}" for n in WORKERS]
            rows.append([SCENARIOS[kind], MODES[mode], *cells])
    return common.table(["operation", "transactions", *(f"{n} workers" for n in WORKERS)], rows)


def _waits_table(waits: _LockWaits) -> str:
    rows: list[list[object]] = []
    for kind in ("hot", "distinct", "sharded", "random_slot"):
        for mode in MODES:
            cells = [f"{waits.mean((kind, mode, n)):.2f}" for n in WORKERS]
            rows.append([SCENARIOS[kind], MODES[mode], *cells])
    return common.table(["operation", "transactions", *(f"{n} workers" for n in WORKERS)], rows)


def run(quick: bool) -> str:
    common.django_setup()
    _create_tables()
    from benchmarks.counter_models import BenchCounter, BenchCounterShard
    from django_supahybrid.counters.sharded import ShardedCounter

    seconds = 0.25 if quick else 0.5
    rounds = 1 if quick else ROUNDS
    per_worker = 50 if quick else 250
    lost_workers = 8
    cells = [(kind, mode, n) for mode in MODES for n in WORKERS for kind in SCENARIOS]
    done: dict[tuple[str, str, int], list[int]] = {cell: [] for cell in cells}
    pool = _Pool(max(WORKERS))
    waits = _LockWaits()
    try:
        for number in range(rounds):
            for kind, mode, n in cells if number % 2 == 0 else reversed(cells):
                done[kind, mode, n].append(pool.round(kind, n, mode, seconds=seconds, waits=waits))
        for kind in ("naive", "atomic"):
            pool.round(kind, lost_workers, count=per_worker)
    finally:
        waits.close()
        pool.close()
    rates = {key: sum(values) / (seconds * rounds) for key, values in done.items()}
    data = {
        "workers": list(WORKERS),
        "modes": MODES,
        "series": {
            mode: {
                label: [rates[kind, mode, n] for n in WORKERS] for kind, label in SCENARIOS.items()
            }
            for mode in MODES
        },
    }
    common.save_data(NAME, data)
    plot(data)

    stored = list(BenchCounter.objects.order_by("pk").values_list("votes", flat=True))

    def made(*kinds: str) -> int:
        return sum(sum(v) for (kind, _, _), v in done.items() if kind in kinds)

    votes = ShardedCounter(BenchCounterShard, "votes", slots=SLOTS)
    owners = list(BenchCounter.objects.order_by("pk"))
    exact = (
        sum(stored[:DISTINCT_ROWS]) == made("hot", "distinct")
        and votes.total(owners[_SHARDED]) == made("sharded")
        and votes.total(owners[_RANDOM]) == made("random_slot")
    )
    expected = lost_workers * per_worker
    lost_rows: list[list[object]] = [
        ["read-modify-write (`obj.votes += 1; obj.save()`)", expected, stored[_NAIVE],
         expected - stored[_NAIVE]],
        ['`increment(obj, "votes")`', expected, stored[_ATOMIC], expected - stored[_ATOMIC]],
    ]  # fmt: skip
    return "\n".join([
        "Operations per second, with the ratio to the `SELECT 1` floor (run the same way, at "
        f"the same number of workers) in parentheses; each cell {rounds} runs of {seconds:g} s, "
        "interleaved with the other operations at the same number of workers; every worker "
        "a process with its own connection, default `synchronous_commit`.",
        "",
        "### Each operation commits on its own",
        "",
        _rate_table(rates, "autocommit"),
        "",
        f"### Each operation in a transaction that stays open {HOLD * 1000:g} ms more",
        "",
        "As in a view under `ATOMIC_REQUESTS` with more work after counting: the row lock is "
        "held until the commit, so writers of one hot row queue behind it.",
        "",
        _rate_table(rates, "held"),
        "",
        "The sharded counter against its ceiling, distinct rows (every worker its own row, "
        "nothing shared), in the same run:",
        "",
        _ceiling_table(rates),
        "",
        "Sessions waiting for a lock, on average over the run (sampled about every "
        "millisecond): the queue itself, which a busy machine does not blur.",
        "",
        _waits_table(waits),
        "",
        common.figure(
            IMAGE,
            "Operations per second against concurrent workers",
            common.caption(
                NAME,
                "Counter operations per second against the number of concurrent workers "
                "(each a process with its own PostgreSQL connection), log scales: on top "
                "each operation commits on its own, below each runs in a transaction held "
                f"open {HOLD * 1000:g} ms more. Dashed: the `SELECT 1` floor.",
            ),
        ),
        "",
        "Every increment was counted exactly (database totals equal the operations the "
        f"workers made; the sharded total read with `total()`): **{'yes' if exact else 'NO'}**.",
        "",
        f"### Lost updates: {lost_workers} workers x {per_worker} increments of one row",
        "",
        common.table(["pattern", "expected", "stored", "lost"], lost_rows),
    ])  # fmt: skip
