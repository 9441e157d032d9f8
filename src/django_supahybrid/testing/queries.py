"""An N+1 guard for your own tests: the query count must not grow with the data.

    from django_supahybrid.testing.queries import assert_queries_do_not_grow

    def test_campaign_list_is_not_n_plus_one(client, make_campaigns):
        assert_queries_do_not_grow(
            lambda: client.get("/api/campaigns/"),
            setup=make_campaigns,  # called with each size: 1, then 20, then 100
            sizes=(1, 20, 100),
        )

With pytest, add ``pytest_plugins = ["django_supahybrid.testing.pytest_plugin"]`` to a
``conftest.py`` to get the same function as the ``assert_queries_do_not_grow`` fixture.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

__all__ = ["QueryCountGrew", "assert_queries_do_not_grow", "count_queries"]


class QueryCountGrew(AssertionError):
    """The query count of a callable grew with the number of rows."""


def count_queries(call: Callable[[], Any], *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Run ``call`` and return the SQL of every query it sent to ``using``."""
    with CaptureQueriesContext(connections[using]) as captured:
        call()
    return [query["sql"] for query in captured.captured_queries]


def assert_queries_do_not_grow(
    call: Callable[[], Any],
    *,
    setup: Callable[[int], Any],
    sizes: Sequence[int] = (1, 20),
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Assert that ``call`` sends as many queries at every size; return that number.

    For each size, in order, ``setup(size)`` prepares the data (its queries are not
    counted) and then ``call()`` is run and its queries counted. Raises
    `QueryCountGrew` listing the counts and the statements that repeat, which is
    where a missing ``select_related`` or ``prefetch_related`` shows.
    """
    if len(sizes) < 2:
        raise ValueError("Give at least two sizes to compare, such as (1, 20).")
    counts: list[int] = []
    runs: list[list[str]] = []
    for size in sizes:
        setup(size)
        statements = count_queries(call, using=using)
        counts.append(len(statements))
        runs.append(statements)
    if len(set(counts)) > 1:
        raise QueryCountGrew(_explain(sizes, counts, runs[counts.index(max(counts))]))
    return counts[0]


def _explain(sizes: Sequence[int], counts: list[int], statements: list[str]) -> str:
    pairs = ", ".join(f"{size} rows: {count}" for size, count in zip(sizes, counts, strict=True))
    shapes = Counter(_shape(sql) for sql in statements)
    repeated = [(sql, n) for sql, n in shapes.most_common() if n > 1]
    lines = [f"The number of queries changed with the number of rows ({pairs})."]
    if repeated:
        lines.append("Statements sent more than once in the largest run (values as ?):")
        lines += [f"  {n} x {sql}" for sql, n in repeated[:5]]
    return "\n".join(lines)


_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def _shape(sql: str) -> str:
    """``sql`` with its literal values replaced, so one N+1 statement groups together."""
    return _LITERAL.sub("?", sql)
