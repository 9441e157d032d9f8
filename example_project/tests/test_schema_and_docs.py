"""``/api/schema/`` (OpenAPI 3) and the offline ``/api/docs/`` page."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/health/": {"get"},
    "/api/auth/profile/": {"get"},
    "/api/campaigns/": {"get", "post"},
    "/api/campaigns/{id}/": {"get", "put", "patch", "delete"},
    "/api/campaigns/{id}/vote/": {"post"},
    "/api/campaigns/{id}/interactions/": {"get", "post"},
    "/api/districts/": {"get"},
    "/api/districts/{id}/": {"get"},
    "/api/constituencies/": {"get"},
    "/api/constituencies/{id}/": {"get"},
    "/api/notifications/": {"get"},
    "/api/notifications/{id}/read/": {"post"},
    "/api/notifications/read-all/": {"post"},
    "/api/notifications/stream/": {"get"},
}


def test_schema_lists_every_endpoint() -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = {
        path: set(ops) & {"get", "post", "put", "patch", "delete"}
        for path, ops in schema["paths"].items()
    }
    assert paths == ENDPOINTS
    campaign = schema["components"]["schemas"]["Campaign"]["properties"]
    assert {"id", "name", "status", "vote_count", "created_by_name"} <= set(campaign)
    interactions = schema["paths"]["/api/campaigns/{id}/interactions/"]
    listed = interactions["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/PaginatedVoterInteractionList")
    assert set(interactions["post"]["responses"]) == {"201"}
    assert interactions["post"]["tags"] == ["campaigns"]
    listing = schema["paths"]["/api/campaigns/"]["get"]
    assert {"status", "district", "ordering", "page", "page_size"} <= {
        p["name"] for p in listing["parameters"]
    }


def test_docs_page_uses_only_local_assets() -> None:
    client = APIClient()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/api/schema/" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 4
    for url in assets:
        assert url.startswith("/api/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content)


def test_docs_serves_nothing_else() -> None:
    client = APIClient()
    assert client.get("/api/docs/assets/..%2F..%2Fsettings.py").status_code == 404
    assert client.get("/api/docs/assets/oauth2-redirect.html").status_code == 404
    assert client.post("/api/docs/").status_code == 405
