from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("scoping/", include("tests.support.scoping_views")),
    path("api/", include("tests.support.monitoring_views")),
    path("wall/", include("tests.support.wall_views")),
]
