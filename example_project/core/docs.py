"""``/api/docs/``: Swagger UI for ``/api/schema/``, served from the installed package.

The page and its assets come from ``drf-spectacular-sidecar``'s files through this
project's own views, so it works offline and under any server (no CDN, no static-files
setup).
"""

from __future__ import annotations

from importlib import resources

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET

__all__ = ["docs_asset", "docs_page"]

_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Campaigns API</title>
<link rel="stylesheet" href="{assets}swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{schema}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
}});
</script>
</body>
</html>
"""


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    """The interactive API documentation."""
    assets = reverse("docs-asset", args=["swagger-ui.css"]).removesuffix("swagger-ui.css")
    html = _PAGE.format(assets=escape(assets), schema=escape(reverse("schema")))
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@require_GET
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """One of Swagger UI's files, from the ``drf-spectacular-sidecar`` package."""
    if name not in _ASSETS:
        raise Http404(name)
    dist = resources.files("drf_spectacular_sidecar") / "static/drf_spectacular_sidecar"
    response = FileResponse(
        (dist / "swagger-ui-dist" / name).open("rb"), content_type=_ASSETS[name]
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response
