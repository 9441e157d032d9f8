from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("scoping/", include("tests.scoping_views")),
    path("", include("config.urls")),
]
