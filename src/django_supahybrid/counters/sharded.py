"""Sharded counters for hot rows: many writers, no queue on one row lock, an exact total.

Every ``UPDATE`` of a row takes that row's lock until its transaction ends, so thousands
of votes for one popular campaign run one after another. A `ShardedCounter` spreads
them over ``slots`` rows of a shard table (one per slot, created on first use), reads the
exact total as ``main field + sum(slots)`` in one statement, and folds the slots back into
the main row when asked.

The shard table is yours: subclass `CounterShardBase` in your app with one foreign
key to the counted model and a unique constraint on ``(that key, "slot")``. The library
ships no concrete model and no migration.
"""

from __future__ import annotations

import random
from typing import Any

from django.db import connections, models, router
from django.db.models import ExpressionWrapper, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from django_supahybrid.counters._sql import column, counter_field, does_not_exist

__all__ = ["CounterShardBase", "ShardedCounter"]


class CounterShardBase(models.Model):
    """One slot of a sharded counter. Subclass it with a foreign key to the counted model.

    ```python
    class CampaignVoteShard(CounterShardBase):
        campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)

        class Meta:
            constraints = [
                models.UniqueConstraint(
                    fields=["campaign", "slot"], name="campaign_vote_shard_slot"
                )
            ]
    ```

    System checks ``supahybrid.E030`` and ``supahybrid.E031`` verify both requirements.
    """

    slot = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


def shard_owner(shard_model: type[models.Model]) -> models.ForeignKey[Any, Any] | None:
    """The single foreign key of ``shard_model`` (the counted row), or ``None``."""
    keys = [f for f in shard_model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
    return keys[0] if len(keys) == 1 else None


class ShardedCounter:
    """A counter on ``<owner model>.<field>`` relieved by the slots of ``shard_model``.

    ``shard_model`` subclasses `CounterShardBase`; its single foreign key names the
    owner model, whose integer ``field`` receives the folded slots. ``slots`` bounds how
    many writers can add at once without waiting for each other. Define one instance at
    module level, next to the models:

    ```python
    votes = ShardedCounter(CampaignVoteShard, "vote_count", slots=16)
    ```
    """

    def __init__(self, shard_model: type[CounterShardBase], field: str, *, slots: int = 16):
        owner = shard_owner(shard_model)
        if owner is None:
            raise TypeError(
                f"{shard_model._meta.label} must have exactly one ForeignKey, to the counted "
                "model (see system check supahybrid.E030)."
            )
        if not 1 <= slots <= 32767:
            raise ValueError(f"`slots` must be between 1 and 32767, got {slots}.")
        self.shard_model = shard_model
        self.owner_model: type[models.Model] = owner.related_model
        self.field = field
        self.slots = slots
        self._owner = owner
        self._counter = counter_field(self.owner_model, field)
        # Quoted names and the add() statement by database alias: add() is the hot path.
        self._quoted: dict[str, dict[str, str]] = {}
        self._add_sql: dict[str, str] = {}

    def _names(self, using: str | None) -> tuple[str, dict[str, str]]:
        """The database alias, and the quoted table and column names the SQL uses."""
        alias = using or router.db_for_write(self.shard_model)
        if alias not in self._quoted:
            self._quoted[alias] = self._quote(alias)
        return alias, self._quoted[alias]

    def _quote(self, alias: str) -> dict[str, str]:
        qn = connections[alias].ops.quote_name
        shard_meta = self.shard_model._meta
        return {
            "shard": qn(shard_meta.db_table),
            "owner_col": qn(column(self._owner)),
            "main": qn(self.owner_model._meta.db_table),
            "main_pk": qn(column(self._owner.target_field)),
            "field": qn(column(self._counter)),
            "slot": qn(column(shard_meta.get_field("slot"))),
            "count": qn(column(shard_meta.get_field("count"))),
        }

    def _pk(self, owner: models.Model | Any) -> Any:
        if isinstance(owner, models.Model):
            if owner.pk is None:
                raise ValueError(f"Cannot count for an unsaved {owner._meta.label} instance.")
            return getattr(owner, self._owner.target_field.attname)
        return owner

    def _owner_value(self, alias: str, sql: str, params: list[Any], pk: Any) -> int:
        """Run ``sql``, which yields one value for the owner row ``pk`` or no row at all."""
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            raise does_not_exist(self.owner_model)(
                f"{self.owner_model._meta.label}(pk={pk!r}) does not exist."
            )
        return int(row[0])

    def add(self, owner: models.Model | Any, by: int = 1, *, using: str | None = None) -> None:
        """Add ``by`` to a slot of ``owner`` (an instance or its primary key) nobody holds.

        One ``INSERT ... ON CONFLICT DO UPDATE`` on the shard table, into an existing slot of
        ``owner`` that no other open transaction holds (``FOR NO KEY UPDATE SKIP LOCKED``);
        only when every existing slot is held does it pick a random one, creating it or
        waiting for it. So adders, each in a transaction that stays open after the add,
        do not queue behind each other while there are more slots than adders, and a
        transaction that adds twice reuses its own slot. The main row is not touched (nor
        locked). The new total is not returned; read `total`.
        """
        if not isinstance(by, int) or isinstance(by, bool):
            raise TypeError(f"`by` must be an int, got {by!r}.")
        alias, t = self._names(using)
        if alias not in self._add_sql:
            # A random slot alone collides: 8 adders on 16 slots can wait on up to a third of
            # their adds, and two transactions adding twice each can deadlock. The subquery
            # locks the slot it returns, so the conflict branch updates a row no other
            # transaction can hold.
            self._add_sql[alias] = (
                f"INSERT INTO {t['shard']} ({t['owner_col']}, {t['slot']}, {t['count']}) "  # noqa: S608
                f"SELECT %(owner)s, COALESCE((SELECT {t['slot']} FROM {t['shard']} "
                f"WHERE {t['owner_col']} = %(owner)s FOR NO KEY UPDATE SKIP LOCKED LIMIT 1), "
                f"%(fallback)s), %(by)s ON CONFLICT ({t['owner_col']}, {t['slot']}) DO UPDATE "
                f"SET {t['count']} = {t['shard']}.{t['count']} + EXCLUDED.{t['count']}"
            )
        params = {"owner": self._pk(owner), "by": by, "fallback": random.randrange(self.slots)}
        with connections[alias].cursor() as cursor:
            cursor.execute(self._add_sql[alias], params)

    def total(self, owner: models.Model | Any, *, using: str | None = None) -> int:
        """The exact value: the main field plus every slot, read in one statement.

        Raises ``DoesNotExist`` of the owner model when the owner row does not exist.
        """
        alias, t = self._names(using)
        sql = (
            f"SELECT m.{t['field']} + COALESCE((SELECT SUM(s.{t['count']}) FROM {t['shard']} s "  # noqa: S608
            f"WHERE s.{t['owner_col']} = m.{t['main_pk']}), 0) "
            f"FROM {t['main']} m WHERE m.{t['main_pk']} = %s"
        )
        pk = self._pk(owner)
        return self._owner_value(alias, sql, [pk], pk)

    def annotate(
        self, queryset: models.QuerySet[Any], name: str = "counter_total"
    ) -> models.QuerySet[Any]:
        """``queryset`` (of the owner model) annotated with each row's exact total as ``name``."""
        slots = (
            self.shard_model._default_manager.filter(
                **{self._owner.name: OuterRef(self._owner.target_field.attname)}
            )
            .order_by()
            .values(self._owner.name)
            .annotate(n=Sum("count"))
            .values("n")
        )
        total = ExpressionWrapper(
            F(self.field) + Coalesce(Subquery(slots), 0), output_field=models.BigIntegerField()
        )
        annotated: models.QuerySet[Any] = queryset.annotate(**{name: total})
        return annotated

    def fold(self, owner: models.Model | Any, *, using: str | None = None) -> int:
        """Move ``owner``'s slots into its main field, atomically; return the new main value.

        One statement deletes the slots and adds their sum to the main row, so a
        concurrent `total` sees the count either before or after, never twice or
        not at all, and concurrent `add` calls are kept. An ``owner`` instance gets
        the new value set on it.
        """
        alias, t = self._names(using)
        sql = (
            f"WITH moved AS (DELETE FROM {t['shard']} WHERE {t['owner_col']} = %s "  # noqa: S608
            f"RETURNING {t['count']} AS n) "
            f"UPDATE {t['main']} SET {t['field']} = {t['field']} + "
            f"(SELECT COALESCE(SUM(n), 0) FROM moved) "
            f"WHERE {t['main_pk']} = %s RETURNING {t['field']}"
        )
        pk = self._pk(owner)
        value = self._owner_value(alias, sql, [pk, pk], pk)
        if isinstance(owner, models.Model):
            setattr(owner, self._counter.attname, value)
        return value

    def fold_all(self, *, using: str | None = None) -> int:
        """Fold the slots of every owner in one statement; return how many owners changed.

        Meant for a periodic job (cron, Celery beat) that keeps the shard table small.
        """
        alias, t = self._names(using)
        sql = (
            f"WITH moved AS (DELETE FROM {t['shard']} RETURNING {t['owner_col']} AS owner, "  # noqa: S608
            f"{t['count']} AS n), sums AS (SELECT owner, SUM(n) AS n FROM moved GROUP BY owner) "
            f"UPDATE {t['main']} SET {t['field']} = {t['main']}.{t['field']} + sums.n "
            f"FROM sums WHERE {t['main']}.{t['main_pk']} = sums.owner"
        )
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.rowcount)
