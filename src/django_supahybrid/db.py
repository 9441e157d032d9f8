"""Database settings for Supabase Postgres, built from a connection URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = ["database_config"]

_SCHEMES = {"postgres", "postgresql", "pgsql"}


def database_config(url: str, **options: Any) -> dict[str, Any]:
    """Return one ``DATABASES`` entry for the PostgreSQL server at ``url``.

    ``url`` is a libpq-style URL, such as the one Supabase's dashboard shows
    (``postgresql://postgres.<ref>:<password>@<host>:6543/postgres``). A ``host`` query
    parameter (a Unix socket directory) takes precedence over the URL's host. Other query
    parameters become connection ``OPTIONS`` (``sslmode=require``, ...).

    Keyword options are merged into the returned dict; ``OPTIONS`` is merged key by key.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ImproperlyConfigured(
            f"Database URL scheme {parts.scheme!r} is not supported; "
            f"expected one of {', '.join(sorted(_SCHEMES))}."
        )
    query = dict(parse_qsl(parts.query))
    host = query.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"Database URL has an invalid port: {exc}.") from exc
    config: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port) if port else "",
        "OPTIONS": query,
    }
    extra_options = options.pop("OPTIONS", {})
    config.update(options)
    config["OPTIONS"] = {**query, **extra_options}
    return config
