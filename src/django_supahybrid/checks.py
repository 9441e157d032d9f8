"""Django system checks for a misconfigured ``SUPAHYBRID``.

Every id is documented in ``docs/checks.md``; ids are never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.conf import app_settings

__all__ = ["check_counter_shards", "check_settings"]

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@checks.register()
def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """Validate ``SUPAHYBRID`` and ``SUPAHYBRID["SUPABASE_URL"]``."""
    try:
        conf = app_settings()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix the SUPAHYBRID dict in your settings; see the settings reference.",
                id="supahybrid.E001",
            )
        ]
    if conf.SUPABASE_URL is None:
        return []
    return _check_supabase_url(conf.SUPABASE_URL)


def _check_supabase_url(url: str) -> list[checks.CheckMessage]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            checks.Error(
                f"SUPAHYBRID['SUPABASE_URL'] is not an http(s) URL: {url!r}.",
                hint="Use the project URL from the Supabase dashboard, "
                "for example 'https://<project-ref>.supabase.co'.",
                id="supahybrid.E002",
            )
        ]
    messages: list[checks.CheckMessage] = []
    if parts.path.rstrip("/"):
        messages.append(
            checks.Warning(
                f"SUPAHYBRID['SUPABASE_URL'] has a path ({parts.path!r}); "
                "the library appends '/auth/v1' itself.",
                hint=f"Set it to {parts.scheme}://{parts.netloc} (the project URL, not the "
                "issuer or the REST endpoint).",
                id="supahybrid.W001",
            )
        )
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        messages.append(
            checks.Warning(
                f"SUPAHYBRID['SUPABASE_URL'] uses plain http on {parts.hostname!r}.",
                hint="Use https for anything but a local Supabase (127.0.0.1 or localhost).",
                id="supahybrid.W002",
            )
        )
    return messages


# --- scoping ---
# Organization scoping and pagination checks (ids E020-E029, W020-W029) live in their own
# module; importing it registers them.
from django_supahybrid import _scoping_checks  # noqa: E402, F401

# --- database ---
# Pooler modes, pooling, SSL, the connection budget and the auth cache: see db_checks.py.
from django_supahybrid.db_checks import (  # noqa: E402
    check_caches,
    check_database_budget,
    check_databases,
)

checks.register(check_databases)
checks.register(check_database_budget, checks.Tags.database)
checks.register(check_caches, checks.Tags.caches)
# --- counters ---


@checks.register(checks.Tags.models)
def check_counter_shards(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Validate the shard models of sharded counters (``CounterShardBase`` subclasses)."""
    from django_supahybrid.hotcounters import _check_shard_models

    if app_configs is None:
        candidates = list(apps.get_models())
    else:
        candidates = [model for config in app_configs for model in config.get_models()]
    return _check_shard_models(candidates)


# --- realtime ---
from django_supahybrid import _realtime_checks  # noqa: E402, F401  (registers its checks)

# isort: split
# --- authentication ---
from django_supahybrid import _authchecks  # noqa: E402, F401  (registers its checks)
