"""``/demo/``: the live demo page, its two assets and, in debug mode, the token endpoint.

The token endpoint is not even routed with debug off (so it is a 404 before any
middleware looks at the request), and its view refuses as well.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path

from demo import views

urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("assets/<str:name>", views.demo_asset, name="demo-asset"),
]

if settings.DEBUG:
    urlpatterns.append(path("token/", views.demo_token, name="demo-token"))
