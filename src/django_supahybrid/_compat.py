"""Every use of a private API of Django, DRF or django-redis, in one place.

Each helper names the versions it was checked against; ``tests/test_compat.py`` exercises
each one against the installed versions, so an upgrade that changes one fails there first.
"""

from __future__ import annotations

import dataclasses
import http.client
import socket
import urllib.request
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import ForeignObjectRel, Model, QuerySet
from django.db.models.lookups import Exact
from django.db.models.query import ModelIterable
from django.http import HttpRequest
from rest_framework.request import Request

__all__ = [
    "CompiledGet",
    "atomic_depth",
    "cache_error_name",
    "compile_get",
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


@dataclasses.dataclass(frozen=True)
class CompiledGet:
    """The SQL of ``queryset.filter(<lookup>=<value>)``, compiled once, run for any value."""

    model: type[Model]
    alias: str
    sql: str
    params: tuple[Any, ...]
    slot: int  # the index in ``params`` of the looked-up value
    lookup: Exact  # prepares a value as the compiled query prepared the marker
    names: list[str]  # the attribute names of the selected columns, in order
    converters: list[tuple[int, list[Callable[..., Any]], Any]]

    def get(self, value: Any) -> Model | None:
        """The object whose lookup equals ``value``, or ``None``; one query.

        Raises the model's ``MultipleObjectsReturned`` for more than one, as ``get()``.
        """
        connection = connections[self.alias]
        params = list(self.params)
        field = self.lookup.lhs.output_field
        params[self.slot] = field.get_db_prep_value(
            field.get_prep_value(value), connection, prepared=True
        )
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchmany(2)
        if len(rows) > 1:
            model: Any = self.model  # the stubs know the exception on concrete models only
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name}"
            )
        if not rows:
            return None
        values = list(rows[0])
        for index, functions, expression in self.converters:
            for function in functions:
                values[index] = function(values[index], expression, connection)
        return self.model.from_db(self.alias, self.names, values)


def compile_get(queryset: QuerySet[Any], marker: Any) -> CompiledGet | None:
    """``queryset``, whose last filter is ``<lookup>=marker``, compiled for reuse.

    What ``get()`` costs in Python, building and compiling the query, is paid once; each
    run costs the query and the objects. ``None`` when the queryset is more than a plain
    selection of its model's columns (``select_related``, annotations, deferred fields,
    ``extra``, prefetching, another iterable class), or when the marker's parameter
    cannot be told apart: the caller then uses the ORM.

    Private API: ``QuerySet._iterable_class`` and ``_prefetch_related_lookups``; the
    ``Query`` attributes ``where``, ``extra_select`` and ``deferred_loading``; the
    compiler's ``as_sql()``, ``select``, ``klass_info``, ``annotation_col_map`` and
    ``get_converters()`` (as ``ModelIterable`` uses them), and 6.1's
    ``QuerySet._fetch_mode``, checked with Django 5.2, 6.0 and 6.1.
    """
    query = queryset.query
    # Typed Any: the stubs know neither the private attributes nor lookups as children.
    last: Any = query.where.children[-1] if query.where.children else None
    untyped: Any = queryset
    # Django 6.1's fetch modes: only the default one, which from_db() leaves as it is.
    default_mode = getattr(QuerySet(model=queryset.model), "_fetch_mode", None)
    if (
        untyped._iterable_class is not ModelIterable
        or getattr(untyped, "_fetch_mode", None) is not default_mode
        or untyped._prefetch_related_lookups
        or query.select_related
        or query.extra_select
        or query.deferred_loading != (frozenset(), True)
        or not isinstance(last, Exact)
        or query.where.connector != "AND"
        or query.where.negated
    ):
        return None
    alias = queryset.db
    compiler = query.get_compiler(using=alias)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    select, klass_info = compiler.select, compiler.klass_info
    if (
        compiler.annotation_col_map
        or klass_info is None
        or klass_info.get("related_klass_infos")
        or klass_info["select_fields"] != list(range(len(select)))
    ):
        return None
    field = last.lhs.output_field
    prepared = field.get_db_prep_value(
        field.get_prep_value(marker), compiler.connection, prepared=True
    )
    slots = [index for index, param in enumerate(params) if param == prepared]
    if len(slots) != 1:
        return None
    columns = [column for column, _, _ in select]
    converters = [
        (index, functions, expression)
        for index, (functions, expression) in compiler.get_converters(columns).items()
    ]
    return CompiledGet(
        model=queryset.model,
        alias=alias,
        sql=sql,
        params=tuple(params),
        slot=slots[0],
        lookup=last,
        names=[column.target.attname for column in columns],
        converters=converters,
    )
