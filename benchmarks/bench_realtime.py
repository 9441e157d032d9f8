"""Realtime: save-to-receive latency over NOTIFY, throughput, and what the mixin adds to save()."""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from typing import Any

from benchmarks import common

TITLE = "Realtime notifications: save-to-receive latency and the cost of the mixin"

NAME = "realtime"
IMAGE = "realtime_latency.png"
STOP = "stop"
BURSTS = {
    "autocommit": "{n} saves in a row, autocommit (from each save)",
    "transaction": "{n} saves in one transaction (from the commit)",
    "publish": "bulk_create of {n} + publish() (from the commit)",
}


def _listener(channel: str, queue: Any) -> None:
    """In a child process: LISTEN with the library's listener, timestamp each arrival."""
    from django_supahybrid.realtime import listen

    arrivals: list[tuple[int, float]] = []
    with listen(channel) as listener:
        queue.put("ready")
        for notification in listener:
            now = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            assert notification is not None
            if notification.payload == STOP:
                break
            arrivals.append((notification.data["pk"], now))
    queue.put(arrivals)


class _Listening:
    """A listener process for the duration of a ``with`` block; ``.arrivals`` after it."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.arrivals: dict[int, float] = {}

    def __enter__(self) -> _Listening:
        from django.db import connections

        connections.close_all()  # nothing shared with the forked child
        ctx = multiprocessing.get_context("fork")
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=_listener, args=(self.channel, self.queue))
        self.process.start()
        assert self.queue.get(timeout=30) == "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [self.channel, STOP])
        self.arrivals = dict(self.queue.get(timeout=60))
        self.process.join(timeout=30)


def _percentiles(values_ms: list[float]) -> list[str]:
    q = statistics.quantiles(values_ms, n=100, method="inclusive")
    return [f"{statistics.median(values_ms):.2f}", f"{q[94]:.2f}", f"{q[98]:.2f}"]


def _single(org: Any, count: int) -> tuple[list[float], int]:
    """One save at a time, each waited for before the next: the latency of a lone event."""
    from django_supahybrid.realtime import channel_name
    from tests.testapp.models import RtNote

    sent: dict[int, float] = {}
    with _Listening(channel_name(RtNote, "organization", org.pk)) as listening:
        for _ in range(count):
            start = time.perf_counter()
            note = RtNote.objects.create(organization=org, title="single")
            sent[note.pk] = start
            time.sleep(0.002)  # let it arrive before the next one: no queueing
    latencies = [
        (listening.arrivals[pk] - t) * 1000 for pk, t in sent.items() if pk in listening.arrivals
    ]
    return latencies, count - len(latencies)


def _burst(org: Any, count: int, mode: str) -> tuple[list[float], float, int]:
    """``count`` events back to back; latency per event; events/s received.

    ``mode``: ``"autocommit"`` (each save commits; latency from the save's start),
    ``"transaction"`` (all saves in one transaction) or ``"publish"`` (``bulk_create`` and
    ``publish()`` in one transaction); for the last two, latency from the commit.
    """
    from django.db import transaction

    from django_supahybrid.realtime import channel_name, publish
    from tests.testapp.models import RtNote

    sent: dict[int, float] = {}
    with _Listening(channel_name(RtNote, "organization", org.pk)) as listening:
        first = time.perf_counter()
        if mode == "autocommit":
            for _ in range(count):
                start = time.perf_counter()
                sent[RtNote.objects.create(organization=org, title="burst").pk] = start
        else:
            with transaction.atomic():
                if mode == "transaction":
                    pks = [RtNote.objects.create(organization=org).pk for _ in range(count)]
                else:
                    notes = RtNote.objects.bulk_create(
                        RtNote(organization=org) for _ in range(count)
                    )
                    publish(notes, "INSERT")
                    pks = [note.pk for note in notes]
                first = time.perf_counter()  # the commit starts when the block ends
            sent = dict.fromkeys(pks, first)
        time.sleep(0.5)
    arrivals = listening.arrivals
    latencies = [(arrivals[pk] - t) * 1000 for pk, t in sent.items() if pk in arrivals]
    rate = len(arrivals) / (max(arrivals.values()) - first)
    return latencies, rate, count - len(latencies)


def _save_rates(org: Any, seconds: float) -> dict[str, float]:
    from django.db import transaction

    from tests.testapp.models import RtNote, RtPlainNote

    def plain() -> None:
        RtPlainNote.objects.create(organization=org, title="t")

    def mixin() -> None:
        RtNote.objects.create(organization=org, title="t")

    def in_atomic(create: Any) -> Any:
        def run() -> None:
            with transaction.atomic():
                for _ in range(20):
                    create()

        return run

    variants: dict[str, tuple[Any, int]] = {
        "plain model, autocommit": (plain, 1),
        "RealtimeModel, autocommit (INSERT + NOTIFY)": (mixin, 1),
        "plain model, 20 per transaction": (in_atomic(plain), 20),
        "RealtimeModel, 20 per transaction": (in_atomic(mixin), 20),
    }
    return _interleaved(variants, seconds)


def _python_cost_us(org: Any) -> float:
    """Microseconds of Python the mixin adds to a save: build the event, register it."""
    import timeit

    from django.db import transaction

    from django_supahybrid.realtime.models import _on_save
    from tests.testapp.models import RtNote

    note = RtNote(pk=1, organization=org, title="t", body="b")
    number = 20_000
    with transaction.atomic():
        seconds = min(
            timeit.repeat(
                lambda: _on_save(RtNote, note, created=True, using="default"),
                number=number,
                repeat=3,
            )
        )
        transaction.set_rollback(True)  # drop the registered callbacks
    return seconds / number * 1e6


def _interleaved(variants: dict[str, tuple[Any, int]], seconds: float) -> dict[str, float]:
    """Saves/s of each variant: the best of several short runs taken in turn.

    Taking the variants in turn, rather than one after the other, spreads the drift of a
    shared machine over all of them.
    """
    rounds = 5
    best = dict.fromkeys(variants, 0.0)
    for call, _ in variants.values():
        call()  # warm up
    for _ in range(rounds):
        for label, (call, saves) in variants.items():
            count = 0
            start = time.perf_counter()
            deadline = start + seconds / rounds
            while time.perf_counter() < deadline:
                call()
                count += saves
            best[label] = max(best[label], count / (time.perf_counter() - start))
    return best


def _quantiles(values_ms: list[float]) -> list[float]:
    """The 0th to the 100th percentile, enough to draw the distribution again."""
    inner = statistics.quantiles(values_ms, n=100, method="inclusive")
    return [round(value, 3) for value in [min(values_ms), *inner, max(values_ms)]]


def plot(data: dict[str, Any]) -> None:
    """The share of events received within a given time, per scenario (log time axis)."""
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(common.FIGURE_WIDTH, 4.8), layout="constrained")
    for label, quantiles in data["series"].items():
        ax.plot(quantiles, [i / 100 for i in range(len(quantiles))], label=label)
    ax.set_xscale("log")
    common.plain_log_ticks(ax.xaxis, [1, 2, 5, 10, 20, 50, 100, 200, 500])
    ax.set_xlim(right=1000)
    ax.set_xlabel("ms from the save (or the commit) to arrival at the listener, log scale")
    ax.set_ylabel("share of events received")
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", ncols=1, frameon=False)
    common.save_figure(fig, IMAGE)


def run(quick: bool) -> str:
    load_at_start = os.getloadavg()[0]
    common.django_setup("benchmarks.realtime_settings")
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    from tests.testapp.models import RtNote, RtOrganization, RtPlainNote

    org = RtOrganization.objects.create(name="bench")
    try:
        single, single_lost = _single(org, 50 if quick else 300)
        burst_n = 500 if quick else 2000
        bursts = {mode: _burst(org, burst_n, mode) for mode in BURSTS}
        rates = _save_rates(org, 0.6 if quick else 2.0)
        python_us = _python_cost_us(org)
    finally:
        RtNote.objects.filter(organization=org).delete()
        RtPlainNote.objects.filter(organization=org).delete()
        org.delete()
    series = {"single save": single}
    series.update({BURSTS[mode].format(n=burst_n): v[0] for mode, v in bursts.items()})
    data = {"series": {label: _quantiles(values) for label, values in series.items()}}
    common.save_data(NAME, data)
    plot(data)
    figure = common.figure(
        IMAGE,
        "Share of events received against time from save to arrival",
        common.caption(
            NAME,
            "The share of events received within a given time (log scale), from the save "
            "(or the commit) in one process to the event's arrival at a `listen()` iterator "
            "in another, over PostgreSQL `NOTIFY` on loopback, per scenario of the table "
            "above.",
        ),
    )
    load, cores = load_at_start, os.cpu_count()
    latency_rows: list[list[object]] = [
        ["single save, waited for (from the save)", len(single), *_percentiles(single),
         single_lost, ""],
    ]  # fmt: skip
    for mode, (values, rate, lost) in bursts.items():
        label = BURSTS[mode].format(n=burst_n)
        latency_rows.append([label, len(values), *_percentiles(values), lost, f"{rate:,.0f}"])
    floor = rates["plain model, autocommit"]
    floor_tx = rates["plain model, 20 per transaction"]
    cost_rows: list[list[object]] = [
        [label, f"{value:,.0f}", f"{value / (floor_tx if 'transaction' in label else floor):.2f}"]
        for label, value in rates.items()
    ]
    latency_table = common.table(
        ["scenario", "events", "p50 ms", "p95 ms", "p99 ms", "lost", "received events/s"],
        latency_rows,
    )
    cost_table = common.table(["save path", "saves/s", "ratio to the plain model"], cost_rows)
    return f"""\
### Save-to-receive latency over PostgreSQL NOTIFY (loopback)

From `Model.objects.create()` (or the commit) in one process to the arrival of the event
at a `listen()` iterator in another process.

{latency_table}

Events of a transaction leave at its commit (that is the guarantee), so their latency is
measured from the commit; the received rate is events over the time from the first save
(autocommit) or the commit to the last arrival. Through Supabase Realtime (Postgres
Changes), an update takes in the order of **100 to 500 ms** to reach a browser over the
Internet; the figures above are the database-to-Django leg on loopback, the part this
library adds.

{figure}

### Cost added to `save()`

{cost_table}

The floor is the same model without the mixin, measured in the same run, the variants
taken in turn. Of the difference, building and registering the event is
**{python_us:.0f} µs of Python per save** (measured in process, without the database); the
rest is the `pg_notify` statement after the commit: one per save in autocommit, one per
transaction (up to 1,000 events each) when the saves share a transaction.

The machine's load average was {load:.1f} when the run started (on {cores} cores shared
with other jobs): absolute figures are noisy, which is why the variants are interleaved
and compared as ratios.
"""
