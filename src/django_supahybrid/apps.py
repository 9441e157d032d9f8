from __future__ import annotations

from django.apps import AppConfig

__all__ = ["SupaHybridConfig"]


class SupaHybridConfig(AppConfig):
    """Registers the system checks and signal receivers; no queries, no network."""

    name = "django_supahybrid"
    verbose_name = "Supabase hybrid"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_supahybrid import (
            checks,  # noqa: F401  (registers the checks)
            conf,
            users,
        )

        conf.connect_signals()
        users.connect_signals()
