from __future__ import annotations

from core.views import HealthView
from django.urls import path

urlpatterns = [
    path("api/health/", HealthView.as_view(), name="health"),
]
