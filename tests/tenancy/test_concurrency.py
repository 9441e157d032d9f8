"""Requests of two tenants in parallel threads never see each other's rows."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.support.tenancy import World, client_for
from tests.testapp.models import Campaign


@pytest.mark.django_db(transaction=True)
def test_parallel_tenants_stay_apart(world: World) -> None:
    for index in range(30):
        org = world.org_a if index % 2 else world.org_b
        Campaign.objects.create(organization=org, name=f"p{index}")
    expected = {
        world.alice.pk: set(
            Campaign.objects.filter(organization=world.org_a).values_list("pk", flat=True)
        ),
        world.bob.pk: set(
            Campaign.objects.filter(organization=world.org_b).values_list("pk", flat=True)
        ),
    }
    errors: list[str] = []
    start = threading.Barrier(4)

    def worker(user_pk: int) -> None:
        user = world.alice if user_pk == world.alice.pk else world.bob
        client = client_for(user)
        try:
            start.wait()
            for _ in range(15):
                body = client.get("/scoping/campaigns/?page_size=100").json()
                seen = {row["id"] for row in body["results"]}
                if seen != expected[user_pk]:
                    errors.append(f"{user.username} saw {sorted(seen - expected[user_pk])}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(pk,))
        for pk in (world.alice.pk, world.bob.pk, world.alice.pk, world.bob.pk)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
