"""Bounded pagination for the example's lists."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination

__all__ = ["FeedPagination", "PagePagination"]


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M``: 20 a page by default, at most 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class FeedPagination(CursorPagination):
    """Newest first, opaque ``?cursor=``: stable while new rows arrive."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
