"""Every use of a private API of Django, DRF or django-redis, in one place.

Each helper names the versions it was checked against; ``tests/test_compat.py`` exercises
each one against the installed versions, so an upgrade that changes one fails there first.
"""

from __future__ import annotations

import http.client
import socket
import urllib.request
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import ForeignObjectRel, QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

__all__ = [
    "atomic_depth",
    "cache_error_name",
    "counts_by_key",
    "django_request",
    "last_on_commit",
    "native_pools",
    "one_row_per_object",
    "socket_reporting_opener",
    "strict_cache",
]


def strict_cache(cache: Any) -> Any:
    """``cache``, or its client when the backend swallows server errors.

    django-redis with ``IGNORE_EXCEPTIONS`` (``cache_config(on_outage="degrade")``) turns
    an unreachable Redis into misses. The authentication cache must know the difference:
    a miss on an invalidation generation means "never changed", an outage means "unknown",
    and only an error lets it skip a slow server for a while instead of waiting for the
    socket timeout on every request.

    Private API: ``RedisCache._ignore_exceptions`` and ``RedisCache.client`` (the
    ``DefaultClient`` that raises), checked with django-redis 5.4 and 6.0.
    """
    if getattr(cache, "_ignore_exceptions", False):
        return cache.client
    return cache


def cache_error_name(exc: BaseException) -> str:
    """The class name of a cache error's root cause.

    django-redis raises its ``ConnectionInterrupted`` from the redis-py error it caught
    (checked with django-redis 5.4 and 6.0), so the cause names what went wrong.
    """
    return type(exc.__cause__ or exc).__name__


def last_on_commit(connection: BaseDatabaseWrapper) -> tuple[set[str], Callable[[], Any]] | None:
    """The savepoint ids and callback of the last ``on_commit`` registered on ``connection``.

    Private API: ``BaseDatabaseWrapper.run_on_commit``, a list of ``(savepoint ids,
    callback, robust)`` tuples, checked with Django 5.2, 6.0 and 6.1.
    """
    if not connection.run_on_commit:
        return None
    entry = connection.run_on_commit[-1]
    return set(entry[0]), entry[1]


def atomic_depth(connection: BaseDatabaseWrapper) -> int:
    """How many ``atomic`` blocks are open on ``connection`` (0 in autocommit).

    Private API: ``BaseDatabaseWrapper.atomic_blocks``, the stack of open ``Atomic``
    objects, checked with Django 5.2, 6.0 and 6.1.
    """
    return len(connection.atomic_blocks)


def native_pools() -> dict[str, Any]:
    """Django's own psycopg pools by alias, for those this process has opened.

    Reading a connection's ``pool`` property instead would open a pool this process never
    used. Private API: the class attribute ``DatabaseWrapper._connection_pools`` of the
    PostgreSQL backend, checked with Django 5.2, 6.0 and 6.1.
    """
    from django.db.backends.postgresql.base import DatabaseWrapper

    return dict(getattr(DatabaseWrapper, "_connection_pools", {}))


def django_request(request: Request | HttpRequest) -> HttpRequest:
    """The Django ``HttpRequest`` under a DRF ``Request`` (or ``request`` itself).

    Reading ``request.META`` through DRF's proxy costs an attribute miss and a
    ``__getattr__`` call on every request. Private API: ``Request._request``, checked with
    djangorestframework 3.16.
    """
    return request._request if isinstance(request, Request) else request


def counts_by_key(queryset: QuerySet[Any]) -> bool:
    """Whether ``queryset.values("pk")`` has as many rows as ``queryset``.

    ``values("pk")`` keeps the filters and their joins and leaves out the selected
    columns and annotations, so a count over it counts the same rows unless those decide
    the rows: ``distinct()``, set operations, grouping or aggregation, ``extra()``, and
    annotations that return a set of rows or are window functions. Checked without
    compiling the query. Private API: the ``Query`` attributes ``distinct``,
    ``combinator``, ``group_by``, ``extra``, ``extra_tables`` and ``annotations``, and the
    expressions' ``contains_aggregate``, ``contains_over_clause`` and ``set_returning``,
    checked with Django 5.2.
    """
    query = queryset.query
    return not (
        query.distinct
        or query.combinator
        or query.group_by is not None
        or query.extra
        or query.extra_tables
        or any(
            getattr(annotation, "contains_aggregate", True)
            or getattr(annotation, "contains_over_clause", True)
            or getattr(annotation, "set_returning", False)
            for annotation in query.annotations.values()
        )
    )


def socket_reporting_opener(
    on_connect: Callable[[socket.socket], None],
) -> urllib.request.OpenerDirector:
    """An ``urllib`` opener that hands the socket of every connection it opens to ``on_connect``.

    Proxies and redirects work as with ``urlopen``; the caller gets the sockets so that it
    can shut them down from another thread when a deadline passes (a socket timeout only
    bounds each read, not a server that trickles bytes).

    Private API: ``AbstractHTTPHandler.do_open(http_class, req)`` with a connection class of
    our own, and the ``sock`` attribute of a connected ``http.client.HTTPConnection``,
    checked with Python 3.11, 3.12 and 3.13.
    """

    class _HTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            on_connect(self.sock)

    class _HTTPSConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            on_connect(self.sock)

    class _HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_HTTPConnection, req)

    class _HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            # The default context of HTTPSConnection verifies certificates and host names.
            return self.do_open(_HTTPSConnection, req)

    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def one_row_per_object(queryset: QuerySet[Any]) -> bool:
    """Whether ``queryset`` selects each row of its table at most once, in one plain query.

    False for ``distinct()``, ``union()`` and the other set operations, aggregation
    (``GROUP BY``), a slice, ``select_for_update()``, ``extra()`` with ``select``,
    ``tables`` (a cross join) or ``order_by`` (its ``where`` alone only filters), random
    ordering, and a join along a to-many relation (a reverse foreign key, a many-to-many
    or a generic relation) made by a filter, an annotation or the ordering, since any of
    those can repeat or merge rows. Compiling the query of ``values("pk")`` sets up the
    joins the ordering needs, so they are seen too (``select_related`` follows only
    single-valued relations, and leaving it out keeps the compilation cheap).

    Private API: the ``Query`` attributes ``distinct``, ``combinator``, ``group_by``,
    ``is_sliced``, ``select_for_update``, ``extra``, ``extra_tables``, ``extra_order_by``,
    ``order_by``, ``annotations`` and ``alias_map``, and ``Join.join_field``, checked with
    Django 5.2, 6.0 and 6.1.
    """
    query = queryset.query
    if (
        query.distinct
        or query.combinator
        or query.group_by is not None
        or query.is_sliced
        or query.select_for_update
        or query.extra
        or query.extra_tables
        or query.extra_order_by
        or "?" in query.order_by
        or any(getattr(a, "contains_aggregate", False) for a in query.annotations.values())
    ):
        return False
    keys = queryset.values("pk").query
    try:
        keys.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return False
    for join in keys.alias_map.values():
        relation = getattr(join, "join_field", None)
        # A join from the "one" side: a reverse foreign key, or the first half of a
        # many-to-many or generic relation. A reverse one-to-one stays single-valued.
        if isinstance(relation, ForeignObjectRel) and not relation.field.unique:
            return False
    return True
