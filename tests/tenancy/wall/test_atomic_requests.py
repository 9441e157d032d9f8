"""The wall joins the request's own transaction under ``ATOMIC_REQUESTS``: one statement."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from django_supahybrid.tenancy.wall import active_wall, tenant_wall
from tests.support.tenancy import World
from tests.support.wall import api, claims_of, scalar
from tests.support.wall_views import WhoAmI
from tests.testapp.models import Campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("walled")]

REQUEST_ROLE = "supahybrid_request"


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ATOMIC_REQUESTS = True`` on the default database, as a project would set it."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def _statements(call: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [query["sql"] for query in captured.captured_queries]


def _wall_statements(sql: list[str]) -> list[str]:
    return [statement for statement in sql if "set_config" in statement]


def _left_clean() -> None:
    assert scalar("SELECT current_user") != REQUEST_ROLE
    assert scalar("SELECT current_setting('request.jwt.claim.sub', true)") in (None, "")


@pytest.mark.usefixtures("atomic_requests")
class TestUnderAtomicRequests:
    def test_the_wall_costs_one_statement_and_no_savepoint(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        client = api(subs["alice"])
        client.get("/wall/whoami/")  # the token cache warm: authentication costs no query
        walled, walled_sql = _statements(lambda: client.get("/wall/campaigns/"))
        plain, plain_sql = _statements(lambda: client.get("/wall/unwalled-campaigns/"))
        assert walled.status_code == plain.status_code == 200
        assert walled.json()["results"] == plain.json()["results"]
        assert len(_wall_statements(walled_sql)) == 1
        assert not [sql for sql in walled_sql if "SAVEPOINT" in sql.upper()]
        # for_user() under the wall asks the database, so it may save a query, never add one.
        assert len(walled_sql) <= len(plain_sql) + 1, (walled_sql, plain_sql)
        _left_clean()

    def test_the_request_runs_as_the_request_role_and_leaves_nothing(
        self, subs: dict[str, uuid.UUID]
    ) -> None:
        body = api(subs["bob"]).get("/wall/whoami/").json()
        assert (body["user"], body["sub"]) == (REQUEST_ROLE, str(subs["bob"]))
        _left_clean()

    def test_it_commits_successes_and_rolls_back_errors(self, world: World, subs: Any) -> None:
        client = api(subs["alice"])
        url = "/wall/write-then-fail/"
        failed = client.post(url, {"organization": world.org_a.pk, "fail": True}, format="json")
        assert failed.status_code == 400
        assert not Campaign.objects.filter(name="doomed").exists()
        done = client.post(url, {"organization": world.org_a.pk}, format="json")
        assert done.status_code == 201
        assert Campaign.objects.filter(name="doomed").count() == 1
        # Under the wall, another tenant's organization is refused and nothing is written.
        foreign = client.post(url, {"organization": world.org_b.pk}, format="json")
        assert foreign.status_code == 403
        assert Campaign.objects.filter(name="doomed").count() == 1
        _left_clean()

    def test_a_view_exempt_from_atomic_requests_gets_a_transaction_of_its_own(
        self, subs: dict[str, uuid.UUID]
    ) -> None:
        response, sql = _statements(lambda: api(subs["bob"]).get("/wall/whoami-non-atomic/"))
        assert response.json()["user"] == REQUEST_ROLE
        assert "previous" in _wall_statements(sql)[0]  # the wall's own transaction
        _left_clean()

    def test_a_transaction_that_outlives_the_view_gets_its_role_back(
        self, subs: dict[str, uuid.UUID]
    ) -> None:
        client = api(subs["bob"])
        for url in ("/wall/whoami/", "/wall/whoami-non-atomic/"):
            with transaction.atomic():  # as a middleware's transaction would
                body = client.get(url).json()
                assert body["user"] == REQUEST_ROLE
                _left_clean()

    def test_a_view_called_without_a_url_is_not_joined(self, subs: dict[str, uuid.UUID]) -> None:
        request = APIRequestFactory().get(
            "/", HTTP_AUTHORIZATION=api(subs["bob"])._credentials["HTTP_AUTHORIZATION"]
        )
        with transaction.atomic():  # no resolver match: nothing says it ends with the view
            assert WhoAmI.as_view()(request).data["user"] == REQUEST_ROLE
            _left_clean()


class TestJoiningATransaction:
    def test_inside_a_transaction_it_lasts_until_the_end(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        with transaction.atomic():
            with tenant_wall(claims_of(subs["alice"]), join_transaction=True) as wall:
                assert active_wall() is wall
                names = sorted(Campaign.objects.values_list("name", flat=True))
                assert names == ["ca"]
            assert active_wall() is None
            assert scalar("SELECT current_user") == REQUEST_ROLE
        _left_clean()

    def test_outside_a_transaction_it_starts_one(self, subs: dict[str, uuid.UUID]) -> None:
        with tenant_wall(claims_of(subs["alice"]), join_transaction=True):
            assert connection.in_atomic_block
            assert scalar("SELECT current_user") == REQUEST_ROLE
        _left_clean()


def _control(sql: list[str]) -> list[str]:
    """The transaction control statements, savepoint names left out."""
    words = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return sorted(word for statement in sql for word in words if statement.startswith(word))


@pytest.mark.parametrize(
    ("atomic", "added"),
    [
        (False, ["BEGIN", "COMMIT"]),  # the middleware's own transaction
        (True, ["RELEASE SAVEPOINT", "SAVEPOINT"]),  # the view's becomes a savepoint in it
    ],
)
def test_the_middleware_costs_three_round_trips(
    atomic: bool,
    added: list[str],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    subs: dict[str, uuid.UUID],
) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", atomic)
    client = api(subs["alice"])
    client.get("/wall/unwalled-campaigns/")  # the token cache warm
    plain, plain_sql = _statements(lambda: client.get("/wall/unwalled-campaigns/"))
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django_supahybrid.tenancy.wall.TenantWallMiddleware",
    ]
    client = api(subs["alice"])  # a client loads the middleware on its first request
    walled, walled_sql = _statements(lambda: client.get("/wall/unwalled-campaigns/"))
    assert walled.json()["results"] == plain.json()["results"]
    assert len(_wall_statements(walled_sql)) == 1
    assert _control(walled_sql) == sorted(_control(plain_sql) + added)
    _left_clean()
