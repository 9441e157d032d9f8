"""The monitoring package's face: light to import, the view and middleware on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import django_supahybrid.monitoring as monitoring
from django_supahybrid.monitoring.middleware import RequestMetricsMiddleware
from django_supahybrid.monitoring.views import MetricsView


def test_lazy_names_are_the_real_classes() -> None:
    assert monitoring.MetricsView is MetricsView
    assert monitoring.RequestMetricsMiddleware is RequestMetricsMiddleware
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        monitoring.Nope  # noqa: B018


def test_authentication_imports_before_drf_views_with_drf_naming_it() -> None:
    """DRF's views import its settings' authentication classes: no cycle through metrics."""
    code = (
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django.contrib.auth',"
        " 'django.contrib.contenttypes', 'rest_framework', 'django_supahybrid'],"
        " REST_FRAMEWORK={'DEFAULT_AUTHENTICATION_CLASSES':"
        " ['django_supahybrid.authentication.SupabaseJWTAuthentication']})\n"
        "django.setup()\n"
        "import django_supahybrid.authentication as a\n"
        "import rest_framework.views\n"
        "print(a.SupabaseJWTAuthentication.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SupabaseJWTAuthentication"
