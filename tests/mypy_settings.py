"""Minimal settings for mypy's Django plugin: no servers are started."""

from __future__ import annotations

SECRET_KEY = "mypy-only"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "django_supahybrid",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "mypy"}}
USE_TZ = True
