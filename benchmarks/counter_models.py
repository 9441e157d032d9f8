"""The two tables the counter benchmark hammers, created and dropped by the benchmark itself.

They belong to no installed app and have no migration: ``bench_counters`` creates them
with the schema editor in its own database before a run.
"""

from __future__ import annotations

from django.db import models

from django_supahybrid.counters.sharded import CounterShardBase


class BenchCounter(models.Model):
    votes = models.BigIntegerField(default=0)

    class Meta:
        app_label = "bench_counters"
        db_table = "bench_counters_counter"

    def __str__(self) -> str:
        return f"BenchCounter {self.pk}: {self.votes}"


class BenchCounterShard(CounterShardBase):
    counter = models.ForeignKey(BenchCounter, on_delete=models.CASCADE)

    class Meta:
        app_label = "bench_counters"
        db_table = "bench_counters_shard"
        constraints = [
            models.UniqueConstraint(fields=["counter", "slot"], name="bench_counters_shard_slot")
        ]

    def __str__(self) -> str:
        return f"slot {self.slot}: {self.count}"
