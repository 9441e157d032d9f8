"""Realtime: save-to-receive latency over NOTIFY, throughput, and what the mixin adds to save()."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

from benchmarks import common

TITLE = "Realtime notifications: save-to-receive latency and the cost of the mixin"

STOP = "stop"


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


def _burst(org: Any, count: int, *, in_transaction: bool) -> tuple[list[float], float, int]:
    """``count`` saves back to back; latency from each save's start; events/s received."""
    from django.db import transaction

    from django_supahybrid.realtime import channel_name
    from tests.testapp.models import RtNote

    sent: dict[int, float] = {}
    with _Listening(channel_name(RtNote, "organization", org.pk)) as listening:
        first = time.perf_counter()
        if in_transaction:
            with transaction.atomic():
                for _ in range(count):
                    start = time.perf_counter()
                    sent[RtNote.objects.create(organization=org, title="burst").pk] = start
        else:
            for _ in range(count):
                start = time.perf_counter()
                sent[RtNote.objects.create(organization=org, title="burst").pk] = start
        time.sleep(0.5)
    arrivals = listening.arrivals
    latencies = [(arrivals[pk] - t) * 1000 for pk, t in sent.items() if pk in arrivals]
    rate = len(arrivals) / (max(arrivals.values()) - first)
    return latencies, rate, count - len(latencies)


def _save_rates(org: Any, seconds: float) -> dict[str, float]:
    from django.db import transaction
    from django.test import override_settings

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

    rates = {
        "plain model, autocommit": common.rate(plain, seconds=seconds),
        "RealtimeModel, autocommit (INSERT + NOTIFY)": common.rate(mixin, seconds=seconds),
    }
    with override_settings(SUPAHYBRID={"REALTIME_TRANSPORTS": []}):
        rates["RealtimeModel, no transport (Python cost only)"] = common.rate(
            mixin, seconds=seconds
        )
    rates["plain model, 20 per transaction"] = 20 * common.rate(in_atomic(plain), seconds=seconds)
    rates["RealtimeModel, 20 per transaction"] = 20 * common.rate(in_atomic(mixin), seconds=seconds)
    return rates


def _plot(series: dict[str, list[float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        ordered = sorted(values)
        ax.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("save() start to arrival at the listener (ms, log scale)")
    ax.set_ylabel("fraction of events")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    name = "realtime_latency.png"
    fig.savefig(common.REPORTS / name, dpi=110)
    plt.close(fig)
    return name


def run(quick: bool) -> str:
    common.django_setup("benchmarks.realtime_settings")
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    from tests.testapp.models import RtNote, RtOrganization, RtPlainNote

    org = RtOrganization.objects.create(name="bench")
    try:
        single, single_lost = _single(org, 50 if quick else 400)
        burst_n = 500 if quick else 5000
        burst, burst_rate, burst_lost = _burst(org, burst_n, in_transaction=False)
        tx, tx_rate, tx_lost = _burst(org, burst_n, in_transaction=True)
        rates = _save_rates(org, 0.6 if quick else 3.0)
    finally:
        RtNote.objects.filter(organization=org).delete()
        RtPlainNote.objects.filter(organization=org).delete()
        org.delete()
    plot = _plot({
        "single": single,
        f"burst of {burst_n}, autocommit": burst,
        f"burst of {burst_n}, one transaction": tx,
    })  # fmt: skip
    floor = rates["plain model, autocommit"]
    floor_tx = rates["plain model, 20 per transaction"]
    latency_rows: list[list[object]] = [
        ["single save, waited for", len(single), *_percentiles(single), single_lost, ""],
        [f"burst: {burst_n} saves, autocommit", len(burst), *_percentiles(burst),
         burst_lost, f"{burst_rate:,.0f}"],
        [f"burst: {burst_n} saves in one transaction", len(tx), *_percentiles(tx),
         tx_lost, f"{tx_rate:,.0f}"],
    ]  # fmt: skip
    cost_rows: list[list[object]] = [
        [label, f"{value:,.0f}", f"{value / (floor_tx if 'transaction' in label else floor):.2f}"]
        for label, value in rates.items()
    ]
    body = [
        "### Save-to-receive latency over PostgreSQL NOTIFY (loopback)",
        "",
        "From the start of `Model.objects.create()` in one process to the arrival of its",
        "event at a `listen()` generator in another process.",
        "",
        common.table(
            ["scenario", "events", "p50 ms", "p95 ms", "p99 ms", "lost", "received events/s"],
            [
                ["single save, waited for", len(single), *_percentiles(single), single_lost, ""],
                [
                    f"burst: {burst_n} saves, autocommit",
                    len(burst),
                    *_percentiles(burst),
                    burst_lost,
                    f"{burst_rate:,.0f}",
                ],
                [
                    f"burst: {burst_n} saves in one transaction",
                    len(tx),
                    *_percentiles(tx),
                    tx_lost,
                    f"{tx_rate:,.0f}",
                ],
            ],
        ),  # fmt: skip
        "",
        "In one transaction every event waits for the commit, so its latency includes the",
        "rest of the transaction: that is the guarantee (nothing before commit), not a delay",
        "of the transport. The analysis quotes **100 to 500 ms** for an update to reach a",
        "browser through Supabase Realtime (Postgres Changes, over the Internet); the figures",
        "above are the database-to-Django leg on loopback, the part this library adds.",
        "",
        f"![Latency distribution]({plot})",
        "",
        "### Cost added to `save()`",
        "",
        common.table(
            ["save path", "saves/s", "ratio to the plain model"],
            [
                [
                    label,
                    f"{value:,.0f}",
                    f"{value / (floor_tx if 'transaction' in label else floor):.2f}",
                ]
                for label, value in rates.items()
            ],
        ),  # fmt: skip
        "",
        "The floor is the same model without the mixin, measured in the same run. In",
        "autocommit each save is followed by its own `pg_notify` round trip; inside a",
        "transaction the events are sent after the commit, one statement each.",
    ]
    return "\n".join(body)
