"""Each private API the library relies on, checked against the installed versions.

When an upgrade of Django, DRF or django-redis changes one of them, this file fails first
and names it; ``src/django_supahybrid/_compat.py`` is the one place to adapt.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import Count, Func, IntegerField, Q, Value, Window
from django.db.models.functions import Lower, RowNumber
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.request import Request

from django_supahybrid import _compat
from django_supahybrid.cache import cache_config
from tests.testapp.models import Campaign, ListedUser


class _Series(Func):
    function = "generate_series"
    set_returning = True
    output_field = IntegerField()


def test_strict_cache_unwraps_a_cache_that_ignores_errors(settings: Any) -> None:
    url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CACHES = {
        **settings.CACHES,
        "raise": cache_config(url, on_outage="raise"),
        "degrade": cache_config(url, on_outage="degrade"),
    }
    assert _compat.strict_cache(caches["raise"]) is caches["raise"]
    unwrapped = _compat.strict_cache(caches["degrade"])
    assert isinstance(unwrapped, DefaultClient)
    assert caches["degrade"].get("key") is None  # the wrapper swallows the outage
    with pytest.raises(ConnectionInterrupted) as raised:
        unwrapped.get("key")
    assert _compat.cache_error_name(raised.value) == RedisConnectionError.__name__


@pytest.mark.django_db(transaction=True)
def test_last_on_commit_sees_the_last_callback_and_its_savepoints() -> None:
    def first() -> None: ...
    def second() -> None: ...

    assert _compat.last_on_commit(connection) is None
    with transaction.atomic():
        transaction.on_commit(first)
        assert _compat.last_on_commit(connection) == (set(), first)
        with transaction.atomic():
            transaction.on_commit(second)
            registered = _compat.last_on_commit(connection)
            assert registered is not None
            assert registered[1] is second
            assert registered[0] == set(connection.savepoint_ids)
            assert registered[0]  # the inner atomic block is a savepoint
    assert _compat.last_on_commit(connection) is None


@pytest.mark.django_db(transaction=True)
def test_atomic_depth_counts_the_open_blocks() -> None:
    assert _compat.atomic_depth(connection) == 0
    with transaction.atomic():
        assert _compat.atomic_depth(connection) == 1
        with transaction.atomic(), transaction.atomic(savepoint=False):
            assert _compat.atomic_depth(connection) == 3
        assert _compat.atomic_depth(connection) == 1
    assert _compat.atomic_depth(connection) == 0


def test_native_pools_reads_the_class_attribute_without_opening_a_pool() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    assert isinstance(DatabaseWrapper._connection_pools, dict)
    assert _compat.native_pools() == dict(DatabaseWrapper._connection_pools)


def test_django_request_unwraps_drf_and_passes_django_through() -> None:
    django_request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer x")
    assert _compat.django_request(Request(django_request)) is django_request
    assert _compat.django_request(django_request) is django_request


def test_the_opener_hands_over_the_socket_of_each_connection() -> None:
    import socket

    from django_supahybrid.testing import JWKSServer

    seen: list[socket.socket] = []
    with JWKSServer() as server:
        opener = _compat.socket_reporting_opener(seen.append)
        with opener.open(server.url, timeout=5) as response:
            assert response.status == 200
            [sock] = seen
            assert isinstance(sock, socket.socket)
            assert sock.getpeername()[1] == int(server.url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Campaign.objects.order_by("id"), True),
        (lambda: Campaign.objects.select_related("district").order_by("-district__name"), True),
        (lambda: Campaign.objects.annotate(n=Lower("name")).order_by("n"), True),
        (lambda: User.objects.order_by("scoping_profile__role"), True),  # reverse one-to-one
        (lambda: Campaign.objects.filter(tags__name="t").order_by("id"), False),
        (lambda: Campaign.objects.order_by("tags__name"), False),
        (lambda: Campaign.objects.order_by("interactions__note"), False),
        (lambda: Campaign.objects.annotate(n=Count("tags")).order_by("n"), False),
        (lambda: Campaign.objects.values("name").annotate(n=Count("id")).order_by("n"), False),
        (lambda: Campaign.objects.order_by("id").distinct(), False),
        (lambda: Campaign.objects.order_by("id").union(Campaign.objects.all()), False),
        (lambda: Campaign.objects.order_by("id")[:5], False),
        (lambda: Campaign.objects.order_by("id").select_for_update(), False),
        (lambda: Campaign.objects.extra(select={"one": "1"}).order_by("id"), False),
        (lambda: Campaign.objects.extra(tables=["testapp_district"]).order_by("id"), False),
        (lambda: Campaign.objects.extra(order_by=["-name"]), False),
        (lambda: Campaign.objects.extra(where=["name <> ''"]).order_by("id"), True),
        (lambda: Campaign.objects.order_by("?"), False),
        (lambda: Campaign.objects.none(), False),
    ],
)
def test_one_row_per_object(make: Any, expected: bool) -> None:
    queryset = make()
    sql_before = str(queryset.query) if expected else None
    assert _compat.one_row_per_object(queryset) is expected
    if sql_before is not None:
        assert str(queryset.query) == sql_before  # the queryset itself is left as it was


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Campaign.objects.order_by("id"), True),
        (lambda: Campaign.objects.annotate(n=Lower("name")), True),
        (lambda: Campaign.objects.filter(tags__name="t"), True),  # keys repeat as rows do
        (lambda: Campaign.objects.distinct(), False),
        (lambda: Campaign.objects.union(Campaign.objects.all()), False),
        (lambda: Campaign.objects.annotate(n=Count("tags")), False),
        (lambda: Campaign.objects.values("name").annotate(n=Count("id")), False),
        (lambda: Campaign.objects.extra(select={"one": "1"}), False),
        (lambda: Campaign.objects.extra(tables=["testapp_tag"]), False),
        (lambda: Campaign.objects.annotate(r=Window(RowNumber())), False),
        (lambda: Campaign.objects.annotate(s=_Series(Value(1), Value(2))), False),
    ],
)
def test_counts_by_key(make: Any, expected: bool) -> None:
    assert _compat.counts_by_key(make()) is expected


@pytest.mark.django_db
def test_compile_get_runs_the_compiled_query_for_any_value() -> None:
    marker = uuid.uuid4()
    compiled = _compat.compile_get(ListedUser._base_manager.filter(supabase_id=marker), marker)
    assert compiled is not None
    first = ListedUser.objects.create(
        supabase_id=uuid.uuid4(), handle="ada", preferences={"theme": "dark"}
    )
    with CaptureQueriesContext(connection) as queries:
        found = compiled.get(first.supabase_id)
        assert compiled.get(uuid.uuid4()) is None
    assert len(queries) == 2
    assert isinstance(found, ListedUser)
    assert (found.pk, found.handle, found.preferences) == (first.pk, "ada", {"theme": "dark"})
    assert (found._state.db, found._state.adding) == ("default", False)


@pytest.mark.django_db
def test_compile_get_raises_as_get_for_more_than_one() -> None:
    compiled = _compat.compile_get(User.objects.filter(email="marker"), "marker")
    assert compiled is not None
    User.objects.create(username="a", email="twice@example.com")
    User.objects.create(username="b", email="twice@example.com")
    with pytest.raises(User.MultipleObjectsReturned):
        compiled.get("twice@example.com")


@pytest.mark.parametrize(
    "make",
    [
        lambda m: User.objects.select_related("supabase_identity").filter(email=m),
        lambda m: User.objects.annotate(n=Lower("email")).filter(email=m),
        lambda m: User.objects.only("email").filter(email=m),
        lambda m: User.objects.extra(select={"one": "1"}).filter(email=m),
        lambda m: User.objects.prefetch_related("groups").filter(email=m),
        lambda m: User.objects.values("email").filter(email=m),
        lambda m: User.objects.filter(email=m).exclude(username="x"),
        lambda m: User.objects.filter(email__iexact=m),
        lambda m: User.objects.filter(Q(email=m) | Q(username=m)),
        lambda m: User.objects.all(),
        lambda m: User.objects.filter(pk__in=[]).filter(email=m),
        lambda m: User.objects.filter(username=m).filter(email=m),
    ],
    ids=[
        "select_related",
        "annotate",
        "only",
        "extra",
        "prefetch_related",
        "values",
        "exclude last",
        "not exact",
        "or",
        "no filter",
        "empty",
        "marker twice",
    ],
)
@pytest.mark.django_db
def test_compile_get_declines_what_is_more_than_plain(make: Any) -> None:
    assert _compat.compile_get(make("marker@example.com"), "marker@example.com") is None
