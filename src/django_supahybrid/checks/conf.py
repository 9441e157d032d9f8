"""System checks for the ``SUPAHYBRID`` dict itself (ids E001, E002, W001, W002)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.conf import app_settings

__all__ = ["check_settings"]

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


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
