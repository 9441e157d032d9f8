"""``/api/schema/`` (OpenAPI 3) and the offline ``/api/docs/`` page."""

from __future__ import annotations

import re
from typing import Any

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
    assert set(interactions["post"]["responses"]) == {"201", "400", "401", "403", "404"}
    assert interactions["post"]["tags"] == ["campaigns"]
    listing = schema["paths"]["/api/campaigns/"]["get"]
    assert {"status", "district", "ordering", "page", "page_size"} <= {
        p["name"] for p in listing["parameters"]
    }


def _schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _body(answer: dict[str, Any]) -> str:
    ref: str = answer["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_schema_describes_the_error_answers() -> None:
    schema = _schema()
    assert schema["info"]["title"] == "Campaigns API"
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail", "code"]
    assert components["ValidationError"]["required"] == ["detail", "code", "errors"]
    create = schema["paths"]["/api/campaigns/"]["post"]["responses"]
    assert set(create) == {"201", "400", "401", "403"}
    assert _body(create["400"]) == "ValidationError"
    assert _body(create["401"]) == _body(create["403"]) == "Error"
    detail = schema["paths"]["/api/campaigns/{id}/"]["get"]["responses"]
    assert set(detail) == {"200", "401", "403", "404"}
    assert _body(detail["404"]) == "Error"
    # Open to everyone: no 401 or 403 to expect.
    assert set(schema["paths"]["/api/health/"]["get"]["responses"]) == {"200", "503"}


def test_schema_gives_the_page_size_maximum_and_the_new_location() -> None:
    schema = _schema()
    for path in ("/api/campaigns/", "/api/notifications/", "/api/districts/"):
        parameters = schema["paths"][path]["get"]["parameters"]
        [page_size] = [p for p in parameters if p["name"] == "page_size"]
        assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 100)
    created = schema["paths"]["/api/campaigns/"]["post"]["responses"]["201"]
    assert created["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}


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
