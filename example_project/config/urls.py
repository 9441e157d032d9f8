from __future__ import annotations

from accounts.views import ProfileView
from campaigns.views import CampaignViewSet, ConstituencyViewSet, DistrictViewSet
from core.docs import docs_asset, docs_page
from core.views import HealthView
from demo.views import root
from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from notifications.stream import NotificationStreamView
from notifications.views import NotificationViewSet
from rest_framework.routers import SimpleRouter

from django_supahybrid.monitoring import MetricsView

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("districts", DistrictViewSet, basename="district")
router.register("constituencies", ConstituencyViewSet, basename="constituency")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    # The live demo page (docs/example.md).
    path("demo/", include("demo.urls")),
    path("api/health/", HealthView.as_view(), name="health"),
    path("api/auth/profile/", ProfileView.as_view(), name="profile"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            authentication_classes=[],
            permission_classes=[],
            urlconf="config.urls",  # only this project's API, whatever includes it
            schema=None,  # the schema document itself is not an endpoint of the API
        ),
        name="schema",
    ),
    path(
        "api/notifications/stream/",
        NotificationStreamView.as_view(),
        name="notification-stream",
    ),
    path("api/docs/", docs_page, name="docs"),
    path("api/docs/assets/<str:name>", docs_asset, name="docs-asset"),
    # Operational, not part of the documented API (see docs/monitoring.md).
    path("api/metrics/", MetricsView.as_view(schema=None), name="metrics"),
    path("api/", include(router.urls)),
]

if settings.DEBUG:
    urlpatterns.insert(0, path("", root, name="root"))  # "/" leads to the demo page

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
