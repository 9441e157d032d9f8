"""Read how many pooled connections each database alias has lent out, without opening any."""

from __future__ import annotations

import sys
from typing import Any

from django_supahybrid._compat import native_pools

__all__ = ["pool_in_use"]


def _conn_pool_container() -> dict[str, Any]:
    # Only when the application already imported django-db-connection-pool.
    core = sys.modules.get("dj_db_conn_pool.core")
    return dict(core.pool_container) if core is not None else {}


def pool_in_use() -> dict[str, int]:
    """``{alias: connections lent out}`` for every pool this process has opened."""
    result: dict[str, int] = {}
    for alias, pool in native_pools().items():
        stats = pool.get_stats()
        result[alias] = int(stats["pool_size"]) - int(stats["pool_available"])
    for alias, queue_pool in _conn_pool_container().items():
        result[alias] = int(queue_pool.checkedout())
    return result
