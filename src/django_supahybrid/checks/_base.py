"""The helper every settings-based check shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.conf import SupaHybridSettings, app_settings

__all__ = ["CheckResult", "with_settings"]

CheckResult = list[checks.CheckMessage]


def with_settings(
    check: Callable[..., CheckResult],
) -> Callable[..., CheckResult]:
    """Call ``check(conf, **kwargs)`` with the validated settings.

    When ``SUPAHYBRID`` itself is invalid the check says nothing: ``supahybrid.E001``
    reports that once, instead of every component repeating it.
    """

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> CheckResult:
        try:
            conf: SupaHybridSettings = app_settings()
        except ImproperlyConfigured:
            return []
        return check(conf, *args, **kwargs)

    return run
