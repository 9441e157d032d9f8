"""Bounded pagination: page numbers with a count that stays cheap, and a feed cursor.

`StandardPagination` answers ``?page=N&page_size=M``. Its ``count`` is exact up to
``PAGINATION_EXACT_COUNT_LIMIT`` rows; above that it is a PostgreSQL planner estimate (or
the limit itself) and ``count_is_estimate`` is true. Bad parameters are a 400 with a
message, a page past the end a 404, a ``page_size`` above the maximum is lowered to it.
From ``PAGINATION_DEFERRED_JOIN_OFFSET`` rows deep, a page is fetched with a deferred join
(the page's primary keys first, then their rows), which an index can serve without
reading the rows it skips.

`FeedCursorPagination` is DRF's cursor pagination with the same page sizes: its
cost does not grow with depth, which suits notification and activity feeds.
"""

from __future__ import annotations

import warnings
from typing import Any

from django.core.paginator import UnorderedObjectListWarning
from django.db import connections, models
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from django_supahybrid._compat import counts_by_key, one_row_per_object
from django_supahybrid.conf import app_settings

__all__ = ["FeedCursorPagination", "StandardPagination"]

# OFFSET is a bigint in PostgreSQL; anything larger is past the end of any table.
_MAX_OFFSET = 2**62


class _PageSizeMixin:
    """``page_size`` and ``max_page_size`` from the class, else from ``SUPAHYBRID``."""

    page_size: int | None = None
    max_page_size: int | None = None
    page_size_query_param: str | None = "page_size"

    def default_page_size(self) -> int:
        """The class's ``page_size``, or ``SUPAHYBRID["PAGINATION_PAGE_SIZE"]``."""
        size = type(self).page_size
        return size if size is not None else app_settings().PAGINATION_PAGE_SIZE

    def maximum_page_size(self) -> int:
        """The class's ``max_page_size``, or ``SUPAHYBRID["PAGINATION_MAX_PAGE_SIZE"]``."""
        size = type(self).max_page_size
        return size if size is not None else app_settings().PAGINATION_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        """The requested size, lowered to the maximum; a 400 when it is not a positive int."""
        param = self.page_size_query_param
        raw = request.query_params.get(param) if param else None
        if not param or raw is None or raw == "":
            return self.default_page_size()
        size = _whole_number(raw)
        if size is None or size < 1:
            raise ValidationError(
                {param: [_("Expected a whole number from 1 to %(max)d.") % {
                    "max": self.maximum_page_size()
                }]}
            )  # fmt: skip
        return min(size, self.maximum_page_size())


def _whole_number(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


class StandardPagination(_PageSizeMixin, PageNumberPagination):
    """Page-number pagination: at most two or three queries per page, whatever the depth.

    Per view, subclass and set ``page_size``, ``max_page_size``, ``exact_count_limit``
    or ``large_count`` (``"estimate"`` or ``"capped"``); unset values come from
    ``SUPAHYBRID``. ``deferred_join = False`` pages this view with a plain ``OFFSET``
    at any depth.
    """

    exact_count_limit: int | None = None
    large_count: str | None = None
    deferred_join: bool = True
    last_page_strings = ()

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        self._url = request.build_absolute_uri()
        size = self.get_page_size(request)
        number = self._page_number(request)
        offset = (number - 1) * size
        if isinstance(queryset, models.QuerySet) and not queryset.ordered:
            # As Django's Paginator does: without an order, pages may repeat or skip rows.
            warnings.warn(
                f"Pagination may yield inconsistent results with an unordered "
                f"{queryset.model.__name__} queryset; add order_by().",
                UnorderedObjectListWarning,
                stacklevel=2,
            )
        if offset > _MAX_OFFSET:
            raise NotFound(_("Page %(page)d is past the end of the results.") % {"page": number})
        # One row more than the page tells whether there is a next page without a count.
        rows = self._window(queryset, offset, size + 1)
        if not rows and number > 1:
            raise NotFound(_("Page %(page)d is past the end of the results.") % {"page": number})
        self._number, self._size = number, size
        self._has_next = len(rows) > size
        self._count, self._estimated = self._count_rows(queryset, offset + len(rows))
        return rows[:size]

    def _window(self, queryset: Any, offset: int, limit: int) -> list[Any]:
        """``queryset[offset : offset + limit]``, by a deferred join when it is deep and safe.

        ``OFFSET`` makes PostgreSQL build, then drop, every row it steps over, joins
        included. The deferred join steps over primary keys only (an index-only scan when
        an index covers the filter, the ordering and the key) and fetches the page's rows
        by key in the same statement: ``WHERE pk IN (SELECT pk ... OFFSET n LIMIT m)``,
        ordered again, with the queryset's ``select_related`` and prefetches. Same rows,
        same number of queries.
        """
        if self._defers(queryset, offset):
            keys = queryset.values("pk")[offset : offset + limit]
            return list(queryset.filter(pk__in=keys))
        return list(queryset[offset : offset + limit])

    def _defers(self, queryset: Any, offset: int) -> bool:
        threshold = app_settings().PAGINATION_DEFERRED_JOIN_OFFSET
        return (
            self.deferred_join
            and threshold is not None
            and offset >= max(threshold, 1)
            and isinstance(queryset, models.QuerySet)
            and queryset.ordered
            and one_row_per_object(queryset)
        )

    def _page_number(self, request: Request) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw == "":
            return 1
        number = _whole_number(raw)
        if number is None or number < 1:
            raise ValidationError({self.page_query_param: [_("Expected a whole number from 1.")]})
        return number

    def _count_rows(self, queryset: Any, seen: int) -> tuple[int, bool]:
        """``(count, is_estimate)``; ``seen`` rows up to the end of the fetched window exist.

        When ``seen`` is above the exact limit, counting up to the limit could only say
        "more", so that query is skipped. The last page still counts, so that a page costs
        the same queries whether or not it is the last.
        """
        limit = self.exact_count_limit
        if limit is None:
            limit = app_settings().PAGINATION_EXACT_COUNT_LIMIT
        strategy = self.large_count or app_settings().PAGINATION_LARGE_COUNT
        if not isinstance(queryset, models.QuerySet):
            return len(queryset), False
        estimate = strategy == "estimate" and connections[queryset.db].vendor == "postgresql"
        if seen > limit and not estimate:
            return limit, True
        plain = queryset.order_by()
        if counts_by_key(plain):
            # The keys count the same rows without the annotations' columns: a correlated
            # subquery among them would otherwise run for every row counted.
            plain = plain.values("pk")
        if seen <= limit:
            capped = plain[: limit + 1].count()
            if capped <= limit:
                return capped, False
        if estimate:
            return max(_planner_estimate(plain), limit + 1, seen), True
        return limit, True

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self._count,
                "count_is_estimate": self._estimated,
                "page": self._number,
                "page_size": self._size,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if not self._has_next:
            return None
        url = self._url
        return replace_query_param(url, self.page_query_param, self._number + 1)

    def get_previous_link(self) -> str | None:
        if self._number == 1:
            return None
        url = self._url
        if self._number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self._number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        base: dict[str, Any] = super().get_paginated_response_schema(schema)
        properties = base["properties"]
        properties["count"]["description"] = (
            "Number of results; exact unless count_is_estimate is true."
        )
        properties["count_is_estimate"] = {
            "type": "boolean",
            "example": False,
            "description": "True when the table is too large to count exactly.",
        }
        properties["page"] = {"type": "integer", "example": 1}
        properties["page_size"] = {"type": "integer", "example": 20}
        base["required"] = ["count", "count_is_estimate", "page", "page_size", "results"]
        return base


def _planner_estimate(queryset: models.QuerySet[Any]) -> int:
    """The planner's row estimate for ``queryset``: no scan, one ``EXPLAIN``."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        # psycopg decodes the json column: plan is already a list.
        (plan,) = cursor.fetchone()
    return int(plan[0]["Plan"]["Plan Rows"])


class FeedCursorPagination(_PageSizeMixin, CursorPagination):
    """Cursor pagination for feeds; each page costs the same, however deep.

    Set ``ordering`` per view to an indexed, preferably unique, column (default
    ``"-pk"``; a feed usually wants ``"-created_at"`` with an index on it). A cursor that
    does not decode is a 404 (DRF's behaviour).
    """

    ordering = "-pk"
