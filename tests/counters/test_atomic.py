"""``django_supahybrid.counters`` against the real PostgreSQL: values, errors, aliases."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_supahybrid.counters import (
    CounterBoundError,
    CounterError,
    CounterFieldError,
    decrement,
    decrement_all,
    increment,
    increment_all,
)
from tests.testapp.models import Counted, CountedChild

pytestmark = pytest.mark.django_db(databases=["default", "other"])


def _stored(obj: Counted, field: str, using: str = "default") -> Any:
    return Counted.objects.using(using).values_list(field, flat=True).get(pk=obj.pk)


def test_increment_returns_new_value_sets_it_and_takes_one_query() -> None:
    row = Counted.objects.create(hits=41)
    with CaptureQueriesContext(connection) as queries:
        assert increment(row, "hits") == 42
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("UPDATE")
    assert "RETURNING" in queries[0]["sql"]
    assert row.hits == 42
    assert _stored(row, "hits") == 42


def test_increment_by_and_decrement() -> None:
    row = Counted.objects.create(likes=10)
    assert increment(row, "likes", 5) == 15
    assert decrement(row, "likes") == 14
    assert decrement(row, "likes", by=20) == -6
    assert increment(row, "likes", by=-1) == -7
    assert _stored(row, "likes") == -7


def test_increment_does_not_touch_other_fields_or_rows() -> None:
    row = Counted.objects.create(hits=1, label="kept")
    other = Counted.objects.create(hits=1)
    row.label = "unsaved change"
    increment(row, "hits")
    assert _stored(row, "label") == "kept"
    assert row.label == "unsaved change"
    assert _stored(other, "hits") == 1


def test_stale_instance_still_counts_from_the_stored_value() -> None:
    row = Counted.objects.create(hits=0)
    stale = Counted.objects.get(pk=row.pk)
    increment(row, "hits")
    increment(row, "hits")
    assert increment(stale, "hits") == 3
    assert stale.hits == 3


def test_quoted_column_name() -> None:
    row = Counted.objects.create(score=3)
    assert increment(row, "score", 2) == 5
    assert _stored(row, "score") == 5


def test_several_fields_in_one_statement() -> None:
    row = Counted.objects.create(hits=1, likes=10, score=0)
    with CaptureQueriesContext(connection) as queries:
        result = increment(row, {"hits": 1, "likes": -2, "score": 7})
    assert len(queries) == 1
    assert result == {"hits": 2, "likes": 8, "score": 7}
    assert (row.hits, row.likes, row.score) == (2, 8, 7)
    assert decrement(row, {"hits": 2, "likes": 8}) == {"hits": 0, "likes": 0}
    assert (_stored(row, "hits"), _stored(row, "likes")) == (0, 0)


def test_floor_refuses_and_writes_nothing() -> None:
    row = Counted.objects.create(hits=2, likes=5)
    assert decrement(row, "hits", floor=0) == 1
    assert decrement(row, "hits", floor=0) == 0
    with pytest.raises(CounterBoundError) as info:
        decrement(row, {"likes": 1, "hits": 1}, floor=0)
    error = info.value
    assert (error.field, error.value, error.delta, error.kind, error.limit) == (
        "hits",
        0,
        -1,
        "floor",
        0,
    )
    assert error.model is Counted
    assert error.pk == row.pk
    assert "below the floor 0" in str(error)
    assert "Nothing was changed" in str(error)
    # No partial write: ``likes`` was within bounds but is unchanged too.
    assert (_stored(row, "hits"), _stored(row, "likes")) == (0, 5)
    assert (row.hits, row.likes) == (0, 5)


def test_ceiling_refuses_and_bound_error_is_a_counter_error() -> None:
    row = Counted.objects.create(hits=8)
    assert increment(row, "hits", 2, ceiling=10) == 10
    with pytest.raises(
        CounterError, match=r"hits is 10; adding 1 would take it above the ceiling 10"
    ):
        increment(row, "hits", ceiling=10)
    assert _stored(row, "hits") == 10


def test_bounds_only_restrain_movement_towards_them() -> None:
    row = Counted.objects.create(hits=-5, likes=50)
    # Below the floor already: going up is allowed, a ceiling does not block going down.
    assert increment(row, "hits", floor=0) == -4
    assert decrement(row, "likes", ceiling=10) == 49


def test_per_field_bounds() -> None:
    row = Counted.objects.create(hits=1, likes=1)
    assert decrement(row, {"hits": 1, "likes": 5}, floor={"hits": 0}) == {"hits": 0, "likes": -4}
    with pytest.raises(CounterBoundError) as info:
        increment(row, {"hits": 3, "likes": 1}, ceiling={"hits": 10, "likes": -4})
    assert info.value.field == "likes"
    assert info.value.kind == "ceiling"


def test_bound_error_in_atomic_keeps_the_transaction_usable() -> None:
    row = Counted.objects.create(hits=0)
    with transaction.atomic():
        increment(row, "likes")
        with pytest.raises(CounterBoundError):
            decrement(row, "hits", floor=0)
        assert increment(row, "likes") == 2
    assert _stored(row, "likes") == 2


def test_rolled_back_increment_is_not_kept() -> None:
    row = Counted.objects.create(hits=0)

    def add_then_fail() -> None:
        with transaction.atomic():
            assert increment(row, "hits") == 1
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        add_then_fail()
    assert _stored(row, "hits") == 0


@pytest.mark.parametrize("floor", [None, 0])
def test_deleted_row(floor: int | None) -> None:
    row = Counted.objects.create(hits=3)
    Counted.objects.filter(pk=row.pk).delete()
    with pytest.raises(Counted.DoesNotExist, match=rf"testapp.Counted\(pk={row.pk}\) no longer"):
        decrement(row, "hits", floor=floor)
    assert row.hits == 3


def test_unsaved_instance() -> None:
    with pytest.raises(ValueError, match=r"unsaved testapp\.Counted"):
        increment(Counted(), "hits")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("nope", "testapp.Counted has no field named 'nope'"),
        ("label", r"testapp.Counted.label is a CharField; a counter must be a non-key integer"),
        ("ratio", "is a FloatField"),
        ("parent", "is a ForeignKey"),
        ("id", "is a BigAutoField"),
        ("countedchild", "is a OneToOneRel"),
    ],
)
def test_fields_that_are_not_counters(field: str, message: str) -> None:
    row = Counted.objects.create()
    with pytest.raises(CounterFieldError, match=message):
        increment(row, field)
    with pytest.raises(CounterFieldError, match=message):
        increment_all(Counted.objects.all(), field)


def test_field_error_is_a_django_field_error() -> None:
    from django.core.exceptions import FieldError

    assert issubclass(CounterFieldError, FieldError)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: increment(r, "hits", True), TypeError, "must be an int, got True"),
        (lambda r: increment(r, "hits", 1.5), TypeError, "must be an int, got 1.5"),
        (lambda r: increment(r, {"hits": 1}, 2), TypeError, "either a field name"),
        (lambda r: increment(r, {}), ValueError, "mapping of field to delta is empty"),
        (lambda r: decrement(r, "hits", floor="0"), TypeError, "`floor` must be an int"),
        (lambda r: decrement(r, "hits", floor=False), TypeError, "`floor` must be an int"),
        (
            lambda r: increment(r, "hits", ceiling={"likes": 1}),
            ValueError,
            r"not being changed: \['likes'\]",
        ),
        (lambda r: increment(r, "hits", ceiling={"hits": 1.0}), TypeError, "ceiling for 'hits'"),
    ],
)
def test_bad_arguments(call: Any, error: type[Exception], message: str) -> None:
    row = Counted.objects.create(hits=0)
    with pytest.raises(error, match=message):
        call(row)
    assert _stored(row, "hits") == 0


def test_multi_table_inheritance() -> None:
    child = CountedChild.objects.create(hits=1, extra=1)
    assert increment(child, "hits") == 2
    assert increment(child, "extra", 2) == 3
    assert CountedChild.objects.values_list("hits", "extra").get(pk=child.pk) == (2, 3)
    with pytest.raises(CounterFieldError, match="live in different tables"):
        increment(child, {"hits": 1, "extra": 1})
    CountedChild.objects.filter(pk=child.pk).delete()
    with pytest.raises(CountedChild.DoesNotExist):
        increment(child, "extra")


def test_using_the_other_alias() -> None:
    row = Counted.objects.using("other").create(hits=5)
    Counted.objects.create(pk=row.pk, hits=100)  # same pk on default: must stay untouched
    with CaptureQueriesContext(connections["other"]) as queries:
        assert increment(row, "hits") == 6  # the router follows the instance's database
    assert len(queries) == 1
    assert decrement(row, "hits", 2, using="other", floor=0) == 4
    with transaction.atomic(using="other"):
        assert increment(row, {"hits": 1, "likes": 1}, using="other") == {"hits": 5, "likes": 1}
    assert _stored(row, "hits", "other") == 5
    assert _stored(row, "hits") == 100
    assert increment_all(Counted.objects.using("other"), "hits") == 1
    assert _stored(row, "hits", "other") == 6


def test_increment_all_counts_changed_rows() -> None:
    rows = [Counted.objects.create(hits=n) for n in range(4)]
    assert increment_all(Counted.objects.filter(hits__gte=2), "hits", 10) == 2
    assert [_stored(r, "hits") for r in rows] == [0, 1, 12, 13]
    assert increment_all(Counted.objects.all(), {"hits": 1, "likes": 2}) == 4
    assert [_stored(r, "likes") for r in rows] == [2, 2, 2, 2]
    assert increment_all(Counted.objects.none(), "hits") == 0


def test_increment_all_bounds_skip_rows() -> None:
    rows = [Counted.objects.create(hits=n) for n in range(4)]
    assert decrement_all(Counted.objects.all(), "hits", 2, floor=0) == 2
    assert [_stored(r, "hits") for r in rows] == [0, 1, 0, 1]
    assert increment_all(Counted.objects.all(), {"hits": 1, "likes": -1}, ceiling={"hits": 1}) == 2
    assert [_stored(r, "hits") for r in rows] == [1, 1, 1, 1]
    assert decrement_all(Counted.objects.all(), {"likes": 1}, floor=-1) == 2
    assert [_stored(r, "likes") for r in rows] == [-1, -1, -1, -1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_change_while_waiting_for_the_lock_is_rechecked() -> None:
    """The floor is checked on the latest row version, and the error reports that value.

    Another transaction takes ``hits`` from 1 to 0 and holds the row lock; our
    ``decrement(floor=0)`` starts while it still sees 1 in its snapshot, waits for the lock,
    and must then refuse, reporting 0, not 1.
    """
    row = Counted.objects.create(hits=1)
    outcome: dict[str, Any] = {}
    blocker = connections.create_connection("default")
    blocker.connect()
    try:
        blocker.set_autocommit(False)
        with blocker.cursor() as cursor:
            table = blocker.ops.quote_name(Counted._meta.db_table)
            cursor.execute(f"UPDATE {table} SET hits = hits - 1 WHERE id = %s", [row.pk])

        def waiter() -> None:
            try:
                decrement(row, "hits", floor=0)
            except CounterBoundError as exc:
                outcome["error"] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=waiter)
        thread.start()
        _wait_until_blocked_on_a_lock()
        blocker.commit()
        thread.join(timeout=30)
    finally:
        blocker.close()
    error = outcome["error"]
    assert (error.value, error.limit, error.delta) == (0, 0, -1)
    assert _stored(row, "hits") == 0


def _wait_until_blocked_on_a_lock() -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'WITH updated AS%%'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the decrement never waited for the row lock")


_steps = st.lists(
    st.tuples(
        st.integers(-5, 5),  # delta
        st.one_of(st.none(), st.integers(-10, 10)),  # floor
        st.one_of(st.none(), st.integers(-10, 10)),  # ceiling
    ),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.integers(-10, 10), steps=_steps)
def test_bounded_changes_match_a_python_model(
    start: int, steps: list[tuple[int, int | None, int | None]]
) -> None:
    row = Counted.objects.create(hits=start)
    expected = start
    for delta, floor, ceiling in steps:
        new = expected + delta
        refused = (delta < 0 and floor is not None and new < floor) or (
            delta > 0 and ceiling is not None and new > ceiling
        )
        if refused:
            with pytest.raises(CounterBoundError) as info:
                increment(row, "hits", delta, floor=floor, ceiling=ceiling)
            assert info.value.value == expected
        else:
            assert increment(row, "hits", delta, floor=floor, ceiling=ceiling) == new
            expected = new
        assert row.hits == expected
    assert _stored(row, "hits") == expected
