"""Schemathesis against the example's own OpenAPI schema: no request gets a server error.

The WSGI application runs in this process, inside the test's transaction, with a
Supabase-style access token minted for an organization admin (who may do everything), so
the generated requests reach the views' write paths and the seeded rows, not only the 401s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support import token_for

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation

    from tests.support import World

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

#: Examples per operation and per way of choosing its path parameters.
MAX_EXAMPLES = 10
#: Responses counted by method and status code.
Statuses = Counter[tuple[str, int]]


@pytest.fixture
def in_transaction_wsgi() -> Iterator[None]:
    """Keep Django from closing the test's connection at each request's start and end."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _auth_headers(user: Any) -> dict[str, str]:
    """A Supabase-style access token for ``user``, signed with the project's secret."""
    return {"Authorization": f"Bearer {token_for(user)}"}


def _exercise(
    operation: APIOperation, headers: dict[str, str], statuses: Statuses, **strategy: Any
) -> None:
    @given(case=operation.as_strategy(**strategy))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        statuses[case.method.upper(), response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    run()


@pytest.mark.usefixtures("in_transaction_wsgi")
def test_no_operation_answers_with_a_server_error(world: World) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    headers = _auth_headers(world.a.admin)
    campaign = world.a.campaigns[0]
    exercised = []
    statuses: Statuses = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/stream/"):
            continue  # an event stream never ends: the stream's own tests cover it
        _exercise(operation, headers, statuses)
        if operation.path.startswith("/api/campaigns/{id}"):
            # The seeded campaign, so the detail, vote and interaction paths find a row.
            _exercise(operation, headers, statuses, path_parameters={"id": str(campaign.pk)})
        exercised.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/campaigns/{id}/vote/" in exercised
    assert "GET /api/auth/profile/" in exercised
    assert len(exercised) >= 15
    # Signed in and reaching the views: reads and writes (votes on the seeded campaign at
    # least) succeed, and no request was refused for its credentials.
    assert statuses["GET", 200] > 0
    assert statuses["POST", 200] > 0
    assert not [key for key in statuses if key[1] == 401]
