"""Requests under the wall through a real PgBouncer in transaction mode.

One server connection serves every client: whatever one request set must be gone when
the next transaction, another user's, runs on it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from django_supahybrid.db import database_config
from django_supahybrid.tenancy.wall import tenant_wall
from scripts import devservices
from tests.support import pgtools
from tests.support.tenancy import World
from tests.support.wall import claims_of
from tests.testapp.models import Campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("walled")]

_SEEN = (
    "SELECT pg_backend_pid(), current_user, "
    "coalesce(current_setting('request.jwt.claim.sub', true), ''), "
    "coalesce(current_setting('request.jwt.claims', true), '')"
)


@pytest.fixture
def bouncer_alias(django_db_setup: None) -> Iterator[str]:
    try:
        devservices.pgbouncer_binary()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with devservices.pgbouncer(pgtools.url(), pool_size=1) as port:
        config = database_config(pgtools.url(port=port), mode="transaction", CONN_MAX_AGE=60)
        with pgtools.alias(config) as name:
            yield name


def _look(alias: str) -> tuple[int, str, str, str]:
    with connections[alias].cursor() as cursor:
        cursor.execute(_SEEN)
        pid, user, sub, claims = cursor.fetchone()
        return pid, user, sub, claims


def _request(alias: str, sub: uuid.UUID, log: list[Any], hold: threading.Event | None = None,
             entered: threading.Event | None = None) -> None:  # fmt: skip
    """One request under the wall on ``alias``, then a query outside it, then close."""
    pgtools.connection(alias)
    try:
        with tenant_wall(claims_of(sub), using=alias):
            if entered is not None:
                entered.set()
            if hold is not None:
                hold.wait(5)
            pid, user, seen_sub, _claims = _look(alias)
            names = sorted(Campaign.objects.using(alias).values_list("name", flat=True))
            log.append(("in", str(sub), pid, user, seen_sub, names))
        log.append(("after", str(sub), *_look(alias)))
    finally:
        pgtools.release(alias)


def test_interleaved_users_on_one_server_connection(
    bouncer_alias: str, world: World, subs: dict[str, uuid.UUID]
) -> None:
    log: list[Any] = []
    alice, bob = subs["alice"], subs["bob"]

    def alternate(i: int) -> None:
        for _ in range(5):
            _request(bouncer_alias, alice if i == 0 else bob, log)

    pgtools.in_threads(2, alternate, bouncer_alias)
    # One request holds the wall open while the other waits for the server connection.
    hold, entered = threading.Event(), threading.Event()
    first = threading.Thread(target=_request, args=(bouncer_alias, alice, log, hold, entered))
    first.start()
    assert entered.wait(5)
    second = threading.Thread(target=_request, args=(bouncer_alias, bob, log))
    second.start()
    hold.set()
    first.join(10)
    second.join(10)
    assert not first.is_alive()
    assert not second.is_alive()

    inside = [entry for entry in log if entry[0] == "in"]
    after = [entry for entry in log if entry[0] == "after"]
    assert len(inside) == len(after) == 12
    assert len({entry[2] for entry in log}) == 1  # a single server connection behind all
    for _, sub, _pid, user, seen_sub, names in inside:
        assert (user, seen_sub) == ("supahybrid_request", sub)
        assert names == (["ca"] if sub == str(alice) else ["cb"])
    for _, _sub, _pid, user, seen_sub, claims in after:
        assert user != "supahybrid_request"
        assert (seen_sub, claims) == ("", "")
