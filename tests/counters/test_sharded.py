"""``django_supahybrid.counters.sharded``: sharded counters and their system checks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from django.core.checks import Error
from django.db import (
    IntegrityError,
    OperationalError,
    connection,
    connections,
    models,
    transaction,
)
from django.test.utils import CaptureQueriesContext, isolate_apps

from django_supahybrid.checks.counters import check_counter_shards
from django_supahybrid.counters import CounterFieldError
from django_supahybrid.counters.sharded import CounterShardBase, ShardedCounter
from tests.testapp.models import Counted, CountedShard

pytestmark = pytest.mark.django_db(databases=["default", "other"])


@pytest.fixture
def hits() -> ShardedCounter:
    return ShardedCounter(CountedShard, "hits", slots=4)


def test_add_and_total_are_exact(hits: ShardedCounter) -> None:
    row = Counted.objects.create(hits=100)
    other = Counted.objects.create(hits=7)
    for _ in range(200):
        hits.add(row)
    hits.add(row.pk, 50)
    hits.add(other, -2)
    # One writer never contends with itself: it keeps adding to the slot it created.
    slots = list(CountedShard.objects.filter(counted=row).values_list("slot", "count"))
    assert len(slots) == 1
    assert slots[0][0] in {0, 1, 2, 3}
    assert slots[0][1] == 250
    assert Counted.objects.get(pk=row.pk).hits == 100  # the main row is not touched
    assert hits.total(row) == 350
    assert hits.total(other.pk) == 5


@contextlib.contextmanager
def _holding(hits: ShardedCounter, row: Counted, transactions: int) -> Iterator[None]:
    """``transactions`` other transactions each add 1 to ``row`` and stay open meanwhile."""
    added = threading.Semaphore(0)
    release = threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                hits.add(row)
                added.release()
                release.wait(timeout=60)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            added.release()
        finally:
            connection.close()

    threads = [threading.Thread(target=hold) for _ in range(transactions)]
    try:
        for thread in threads:  # one after the other: each sees the slots taken before it
            thread.start()
            assert added.acquire(timeout=60)
        assert errors == []
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []


def _add_without_waiting(hits: ShardedCounter, row: Counted, lock_timeout: str) -> None:
    """``hits.add(row)``, failing with ``OperationalError`` if it waits for a lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        hits.add(row)


@pytest.mark.django_db(transaction=True)
def test_add_skips_the_slots_other_transactions_hold(hits: ShardedCounter) -> None:
    row = Counted.objects.create()
    CountedShard.objects.bulk_create(CountedShard(counted=row, slot=s) for s in range(4))
    with _holding(hits, row, 2):
        # A random slot would be a held one for half of the adds: each would wait.
        for _ in range(20):
            _add_without_waiting(hits, row, "30s")
        counts = dict(CountedShard.objects.filter(counted=row).values_list("slot", "count"))
    after = dict(CountedShard.objects.filter(counted=row).values_list("slot", "count"))
    held = {slot for slot in after if after[slot] != counts[slot]}
    assert len(held) == 2
    assert all(counts[slot] == 0 and after[slot] == 1 for slot in held)
    assert sum(counts.values()) == 20  # all on the free slots, none waited
    assert hits.total(row) == 22


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_adds_twice_reuses_its_slot(hits: ShardedCounter) -> None:
    row = Counted.objects.create()
    CountedShard.objects.bulk_create(CountedShard(counted=row, slot=s) for s in range(4))
    with _holding(hits, row, 3), transaction.atomic():
        # Every slot is held but the one this transaction takes, then holds itself.
        for _ in range(5):
            _add_without_waiting(hits, row, "30s")
        counts = dict(CountedShard.objects.filter(counted=row).values_list("slot", "count"))
        assert sorted(counts.values()) == [0, 0, 0, 5]  # the holders' adds are not visible
    assert hits.total(row) == 8


@pytest.mark.django_db(transaction=True)
def test_add_waits_when_every_slot_is_held(hits: ShardedCounter) -> None:
    row = Counted.objects.create()
    CountedShard.objects.bulk_create(CountedShard(counted=row, slot=s) for s in range(4))
    with _holding(hits, row, 4), pytest.raises(OperationalError, match="lock timeout"):
        _add_without_waiting(hits, row, "50ms")
    assert hits.total(row) == 4
    hits.add(row)
    assert hits.total(row) == 5


def test_add_and_total_take_one_query_each(hits: ShardedCounter) -> None:
    row = Counted.objects.create()
    with CaptureQueriesContext(connection) as queries:
        hits.add(row)
        hits.total(row)
    assert len(queries) == 2


def test_fold_moves_slots_into_the_main_row(hits: ShardedCounter) -> None:
    row = Counted.objects.create(hits=1)
    other = Counted.objects.create(hits=0)
    for _ in range(10):
        hits.add(row, 3)
    hits.add(other)
    with CaptureQueriesContext(connection) as queries:
        assert hits.fold(row) == 31
    assert len(queries) == 1
    assert row.hits == 31
    assert not CountedShard.objects.filter(counted=row).exists()
    assert CountedShard.objects.filter(counted=other).exists()
    assert hits.total(row) == 31
    assert hits.fold(row.pk) == 31  # nothing left to fold
    hits.add(row)
    assert hits.total(row) == 32


def test_fold_all(hits: ShardedCounter) -> None:
    rows = [Counted.objects.create(hits=10) for _ in range(3)]
    hits.add(rows[0], 5)
    hits.add(rows[1], -5)
    assert hits.fold_all() == 2
    assert list(Counted.objects.order_by("pk").values_list("hits", flat=True)) == [15, 5, 10]
    assert not CountedShard.objects.exists()
    assert hits.fold_all() == 0


def test_annotate(hits: ShardedCounter) -> None:
    first = Counted.objects.create(hits=1)
    second = Counted.objects.create(hits=2)
    for _ in range(5):
        hits.add(first)
    rows = hits.annotate(Counted.objects.order_by("pk"), "total")
    assert [(r.pk, r.total) for r in rows] == [(first.pk, 6), (second.pk, 2)]  # type: ignore[attr-defined]
    assert list(
        hits.annotate(Counted.objects.filter(pk=first.pk)).values_list("counter_total", flat=True)
    ) == [6]


def test_missing_owner(hits: ShardedCounter) -> None:
    row = Counted.objects.create()
    row.delete()
    with pytest.raises(Counted.DoesNotExist, match=r"testapp.Counted\(pk=.*\) does not exist"):
        hits.total(row.pk or 0)
    with pytest.raises(Counted.DoesNotExist):
        hits.fold(123456789)


def test_unsaved_owner_and_bad_by(hits: ShardedCounter) -> None:
    with pytest.raises(ValueError, match=r"unsaved testapp\.Counted"):
        hits.add(Counted())
    row = Counted.objects.create()
    with pytest.raises(TypeError, match=r"`by` must be an int, got 1\.0"):
        hits.add(row, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`by` must be an int"):
        hits.add(row, True)


def test_add_inside_a_rolled_back_transaction_is_not_counted(hits: ShardedCounter) -> None:
    row = Counted.objects.create()

    def add_then_fail() -> None:
        with transaction.atomic():
            hits.add(row)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        add_then_fail()
    assert hits.total(row) == 0


def test_using_the_other_alias(hits: ShardedCounter) -> None:
    row = Counted.objects.using("other").create(hits=1)
    Counted.objects.create(pk=row.pk, hits=1000)
    with CaptureQueriesContext(connections["other"]) as queries:
        hits.add(row, 2, using="other")
        assert hits.total(row, using="other") == 3
        assert hits.fold(row, using="other") == 3
        hits.add(row, using="other")
        assert hits.fold_all(using="other") == 1
    assert len(queries) == 5
    assert hits.total(row) == 1000
    assert Counted.objects.using("other").get(pk=row.pk).hits == 4


def test_constructor_validation() -> None:
    with pytest.raises(CounterFieldError, match=r"testapp\.Counted\.label is a CharField"):
        ShardedCounter(CountedShard, "label")
    with pytest.raises(ValueError, match="between 1 and 32767, got 0"):
        ShardedCounter(CountedShard, "hits", slots=0)
    assert ShardedCounter(CountedShard, "likes").slots == 16


def test_checks_e030_e031() -> None:
    with isolate_apps("tests.testapp") as apps:

        class NoOwnerShard(CounterShardBase):
            class Meta:
                app_label = "testapp"

        class TwoKeysShard(CounterShardBase):
            a = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="+")
            b = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "testapp"

        class NoUniqueShard(CounterShardBase):
            counted = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "testapp"
                unique_together = [("counted", "count")]

        class UniqueTogetherShard(CounterShardBase):
            counted = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "testapp"
                unique_together = [("slot", "counted")]

        class ProxyShard(NoOwnerShard):
            class Meta:
                app_label = "testapp"
                proxy = True

    messages = check_counter_shards(app_configs=[apps.get_app_config("testapp")])
    assert [(m.id, m.obj) for m in messages] == [
        ("supahybrid.E030", NoOwnerShard),
        ("supahybrid.E030", TwoKeysShard),
        ("supahybrid.E031", NoUniqueShard),
    ]
    assert all(isinstance(m, Error) and m.hint for m in messages)
    assert "exactly one ForeignKey" in messages[0].msg
    assert "no unique constraint on ('counted', 'slot')" in messages[2].msg
    assert "UniqueConstraint(fields=['counted', 'slot']" in (messages[2].hint or "")
    with pytest.raises(TypeError, match="NoOwnerShard must have exactly one ForeignKey"):
        ShardedCounter(NoOwnerShard, "hits")


def test_checks_pass_for_the_installed_models() -> None:
    assert check_counter_shards() == []


@pytest.mark.django_db(transaction=True)
def test_add_for_a_missing_owner_fails_on_the_foreign_key(hits: ShardedCounter) -> None:
    with pytest.raises(IntegrityError):
        hits.add(987654321)

    def add_in_atomic() -> None:
        with transaction.atomic():
            hits.add(987654321)  # the key is deferred: checked at commit

    with pytest.raises(IntegrityError):
        add_in_atomic()
    assert not CountedShard.objects.exists()
