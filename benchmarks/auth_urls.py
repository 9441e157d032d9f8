"""``/bench/auth/<kind>/``: the same endpoint behind each authentication compared."""

from __future__ import annotations

from django.urls import path

from benchmarks import auth_views

urlpatterns = [
    path("allowany/", auth_views.FloorView.as_view()),
    path("supahybrid/", auth_views.SupabaseView.as_view()),
    path("simplejwt/", auth_views.SimpleJWTView.as_view()),
    path("naive/", auth_views.NaiveView.as_view()),
]
