"""Models the library's tests use; later components add theirs here."""

from __future__ import annotations

from django.db import models

from django_supahybrid.hotcounters import CounterShardBase

# --- counters ---


class Counted(models.Model):
    """A row with counters of several integer types, and fields that are not counters."""

    hits = models.IntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    stock = models.PositiveIntegerField(default=0)
    # A column name that only works quoted.
    score = models.SmallIntegerField(default=0, db_column="Score Value")
    label = models.CharField(max_length=20, default="")
    ratio = models.FloatField(default=0.0)
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"Counted {self.pk}"


class CountedChild(Counted):
    """Multi-table inheritance: ``hits`` lives in the parent's table, ``extra`` in its own."""

    extra = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"CountedChild {self.pk}"


class CountedShard(CounterShardBase):
    counted = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="shards")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["counted", "slot"], name="testapp_countedshard_slot")
        ]
