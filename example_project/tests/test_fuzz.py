"""Whatever JSON a client sends to a write endpoint, the answer is a success or a 4xx."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db

_FIELDS = [
    "name",
    "description",
    "status",
    "target_district",
    "target_constituency",
    "assigned_users",
    "vote_count",
    "kind",
    "notes",
]
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["active", "draft", "event", "door_knock", "1", "-1"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_BODIES = st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=6), _JSON, max_size=5) | _JSON

_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _send(client: Any, method: str, url: str, body: object) -> int:
    # Encoded here, so that NaN and infinities reach the server as the JSON extensions.
    raw = json.dumps(body).encode()
    response = client.generic(method.upper(), url, raw, content_type="application/json")
    assert response.status_code < 500, (body, response.content)
    assert response["Content-Type"] == "application/json"
    return int(response.status_code)


@_FUZZ
@given(body=_BODIES)
def test_campaign_writes_never_fail_on_the_server(world: World, body: object) -> None:
    client = client_for(world.a.admin)
    assert _send(client, "post", "/api/campaigns/", body) in (201, 400)
    url = f"/api/campaigns/{world.a.campaigns[0].pk}/"
    assert _send(client, "patch", url, body) in (200, 400)
    assert _send(client, "put", url, body) in (200, 400)


@_FUZZ
@given(body=_BODIES)
def test_interaction_writes_never_fail_on_the_server(world: World, body: object) -> None:
    url = f"/api/campaigns/{world.a.campaigns[0].pk}/interactions/"
    assert _send(client_for(world.a.volunteer), "post", url, body) in (201, 400)
