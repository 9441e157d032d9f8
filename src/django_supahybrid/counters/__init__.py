"""Counters that never lose an update.

- ``atomic``: `increment` / `decrement` (and ``*_all``), one
  ``UPDATE ... RETURNING`` each, with optional floors and ceilings;
- ``sharded``: `ShardedCounter` over a `CounterShardBase` table, for rows
  so hot that their row lock becomes the queue.

Import after Django is set up (``CounterShardBase`` is an abstract model).
"""

from __future__ import annotations

from django_supahybrid.counters.atomic import (
    Bound,
    decrement,
    decrement_all,
    increment,
    increment_all,
)
from django_supahybrid.counters.errors import CounterBoundError, CounterError, CounterFieldError
from django_supahybrid.counters.sharded import CounterShardBase, ShardedCounter

__all__ = [
    "Bound",
    "CounterBoundError",
    "CounterError",
    "CounterFieldError",
    "CounterShardBase",
    "ShardedCounter",
    "decrement",
    "decrement_all",
    "increment",
    "increment_all",
]
