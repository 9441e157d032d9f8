"""Django system checks, one module per component, registered in one place.

`register_all` runs from ``AppConfig.ready()``. Ids are ``supahybrid.E0xx`` (errors)
and ``supahybrid.W0xx`` (warnings), grouped by component: 001-009 settings, 010-019
authentication, 020-029 tenancy and pagination, 030-039 counters, 040-049 realtime,
050-059 databases, 060-069 Supabase's own schemas as Django's database role sees them (the
Data API's reach, ``auth.sessions``, ``realtime.messages``; tagged ``database``), 070-079
the tenant wall. Every id is documented in ``docs/checks.md`` and never reused.
"""

from __future__ import annotations

from django.core import checks

__all__ = ["register_all"]


def register_all() -> None:
    """Register every check of the library with Django (idempotent)."""
    from django_supahybrid.checks import (
        authentication,
        conf,
        counters,
        dataapi,
        db,
        realtime,
        tenancy,
        wall,
    )

    checks.register(conf.check_settings)
    checks.register(authentication.check_authentication, checks.Tags.security)
    checks.register(tenancy.check_scoping)
    checks.register(counters.check_counter_shards, checks.Tags.models)
    checks.register(realtime.check_realtime_settings)
    checks.register(realtime.check_realtime_models, checks.Tags.models)
    checks.register(db.check_databases)
    checks.register(db.check_database_budget, checks.Tags.database)
    checks.register(dataapi.check_data_api, checks.Tags.database)
    checks.register(authentication.check_session_table, checks.Tags.database)
    checks.register(realtime.check_realtime_partitions, checks.Tags.database)
    checks.register(wall.check_tenant_wall, checks.Tags.database)
