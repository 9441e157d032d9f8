"""Votes from concurrent requests are never lost, and each answer is a distinct count."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from campaigns.models import Campaign
from django.contrib.auth import get_user_model
from django.db import connections

from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

THREADS = 8
VOTES_EACH = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_are_all_counted(transactional_db: None, world: World) -> None:
    campaign = world.a.campaigns[0]
    answers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def voter() -> None:
        try:
            # Each thread has its own user object, as each request would after authentication.
            client = client_for(get_user_model().objects.get(pk=world.a.volunteer.pk))
            barrier.wait()
            for _ in range(VOTES_EACH):
                response = client.post(f"/api/campaigns/{campaign.pk}/vote/")
                assert response.status_code == 200, response.content
                with lock:
                    answers.append(response.json()["vote_count"])
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=voter) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    total = THREADS * VOTES_EACH
    assert Campaign.objects.get(pk=campaign.pk).vote_count == total
    # Every request saw the count its own vote produced: no two answers are the same.
    assert sorted(answers) == list(range(1, total + 1))
