"""Bad requests get a 400 (or 404/405/415) with a JSON message, never a 500."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from campaigns.models import Campaign
from rest_framework.test import APIClient

from django_supahybrid.testing import make_claims, mint_token
from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "x",}',
        b"\xff\xfe\x00",
        b'{"name": "\\ud800"}',
        b"NaN",
        b"[1, 2",
    ],
)
def test_malformed_json_is_a_400(world: World, raw: bytes) -> None:
    response = client_for(world.a.admin).generic(
        "POST", "/api/campaigns/", raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert Campaign.objects.count() == 4


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": {"nested": True}}, "name"),
        ({"name": ["list"]}, "name"),
        ({"name": True}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "nul\u0000byte"}, "name"),
        ({"name": "ok", "status": "bogus"}, "status"),
        ({"name": "ok", "status": 3}, "status"),
        ({"name": "ok", "target_district": "north"}, "target_district"),
        ({"name": "ok", "target_district": 2**70}, "target_district"),
        ({"name": "ok", "target_district": 999999}, "target_district"),
        ({"name": "ok", "target_constituency": [1]}, "target_constituency"),
        ({"name": "ok", "assigned_users": "everyone"}, "assigned_users"),
        ({"name": "ok", "assigned_users": [{"id": 1}]}, "assigned_users"),
        ({"name": "ok", "description": 12.5e300}, None),
        ({}, "name"),
    ],
)
def test_wrong_types_are_a_400(world: World, payload: dict[str, object], field: str | None) -> None:
    response = client_for(world.a.admin).post("/api/campaigns/", payload, format="json")
    if field is None:  # a number is a fine description once turned into text
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


@pytest.mark.parametrize("raw", [b"[]", b'"name"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_a_400(world: World, raw: bytes) -> None:
    response = client_for(world.a.admin).generic(
        "POST", "/api/campaigns/", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_oversized_body_is_a_400(world: World, settings: object) -> None:
    body = json.dumps({"name": "big", "description": "x" * 3_000_000}).encode()
    response = client_for(world.a.admin).generic(
        "POST", "/api/campaigns/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert not Campaign.objects.filter(name="big").exists()


def test_a_body_that_is_not_json_is_a_415(world: World) -> None:
    response = client_for(world.a.admin).post("/api/campaigns/", {"name": "form"})
    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_wrong_method_is_a_405(world: World) -> None:
    response = client_for(world.a.admin).delete("/api/campaigns/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_an_unknown_url_is_a_json_404() -> None:
    response = APIClient().get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_the_other_error_handlers_answer_json() -> None:
    from core import errors
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    cases = [
        (errors.bad_request(request), 400),
        (errors.permission_denied(request), 403),
        (errors.server_error(request), 500),
    ]
    for response, status in cases:
        assert response.status_code == status
        assert json.loads(response.content)["detail"]


def test_django_validation_errors_become_400s() -> None:
    from core.errors import api_exception_handler
    from django.core.exceptions import SuspiciousOperation, ValidationError

    response = api_exception_handler(ValidationError("Bad value."), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": ["Bad value."],
    }
    response = api_exception_handler(SuspiciousOperation("odd"), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {"detail": "The request could not be read.", "code": "bad_request"}
    assert api_exception_handler(RuntimeError("boom"), {}) is None


def test_options_describes_the_endpoint(world: World) -> None:
    response = client_for(world.a.volunteer).options("/api/campaigns/")
    assert response.status_code == 200
    assert response.json()["name"]


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_a_400(world: World, depth: int) -> None:
    raw = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    response = client_for(world.a.admin).generic(
        "POST", "/api/campaigns/", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]


# One test per family of errors: the body each answers, as docs/example.md shows it.


def test_an_authentication_failure_keeps_its_detail_and_code(world: World) -> None:
    expired = mint_token(make_claims(world.a.admin.supabase_identity.sub, lifetime=-60))
    for header, body in (
        ("Bearer not-a-jwt", {"detail": "Malformed token.", "code": "malformed"}),
        (f"Bearer {expired}", {"detail": "Token has expired.", "code": "expired"}),
    ):
        response = APIClient().get("/api/campaigns/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json() == body
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_is_a_401_with_detail_and_code() -> None:
    response = APIClient().get("/api/campaigns/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_a_permission_failure_keeps_its_detail_and_code(world: World) -> None:
    response = client_for(world.a.volunteer).post(
        "/api/campaigns/", {"name": "Not mine to make"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your role does not allow this action.",
        "code": "permission_denied",
    }


def test_a_validation_error_keeps_the_messages_per_field(world: World) -> None:
    response = client_for(world.a.admin).post(
        "/api/campaigns/", {"name": "", "status": "bogus"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": {
            "name": ["This field may not be blank."],
            "status": ['"bogus" is not a valid choice.'],
        },
    }


def test_an_unreadable_body_is_a_400_with_detail_and_code(world: World) -> None:
    response = client_for(world.a.admin).generic(
        "POST", "/api/campaigns/", b"{", content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "parse_error"
    assert body["detail"].startswith("JSON parse error")


def test_a_missing_object_is_a_404_with_detail_and_code(world: World) -> None:
    response = client_for(world.a.admin).get(f"/api/campaigns/{world.b.campaigns[0].pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_wrong_method_or_media_type_keeps_its_detail_and_code(world: World) -> None:
    client = client_for(world.a.admin)
    method = client.delete("/api/campaigns/")
    assert method.json() == {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}
    media = client.post("/api/campaigns/", {"name": "form"})
    assert media.status_code == 415
    assert media.json()["code"] == "unsupported_media_type"
    assert set(media.json()) == {"detail", "code"}
