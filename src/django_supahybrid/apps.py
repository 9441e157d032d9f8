from __future__ import annotations

from django.apps import AppConfig, apps

__all__ = ["SupaHybridConfig"]


class SupaHybridConfig(AppConfig):
    """Registers the system checks and signal receivers; no queries, no network."""

    name = "django_supahybrid"
    verbose_name = "Supabase hybrid"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_supahybrid import checks, conf
        from django_supahybrid.authentication import token_cache

        checks.register_all()
        conf.connect_signals()
        token_cache.connect_signals()
        if apps.is_installed("drf_spectacular"):
            # drf-spectacular finds extensions by subclassing: importing the module is
            # what makes the Bearer scheme appear in the project's schema.
            from django_supahybrid.contrib import spectacular  # noqa: F401
