"""Locust load test of the example API: a mix of profile, campaign and notification calls.

Each simulated user signs in as one seeded demo user, with an access token minted the way
Supabase Auth signs them (HS256 with the project's JWT secret), and then, with pauses
between calls, reads its profile, lists its organization's campaigns, votes, creates
campaigns (admins and managers) and reads its notifications::

    cd example_project
    python manage.py seed_demo --json demo.json
    PYTHONPATH=. SUPAHYBRID_DEMO_JSON=demo.json SUPABASE_JWT_SECRET=... \\
        locust -f tests/load/locustfile.py --host http://127.0.0.1:8000 ApiUser

The last argument picks the mix (``ApiUser``); without it locust would also run
``HealthUser``, the floor the load benchmark compares the mix with.

Environment: ``SUPAHYBRID_DEMO_JSON`` (the file ``seed_demo --json`` wrote),
``SUPABASE_JWT_SECRET`` and ``SUPABASE_URL`` (defaults: the example's development values).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

from tests.load.tokens import mint

_CREATORS = {"admin", "manager"}


def _demo_users() -> list[dict[str, Any]]:
    with open(os.environ["SUPAHYBRID_DEMO_JSON"]) as file:
        demo = json.load(file)
    return [user for org in demo["organizations"] for user in org["users"]]


_USERS = _demo_users() if os.environ.get("SUPAHYBRID_DEMO_JSON") else []
_NEXT = itertools.cycle(range(max(len(_USERS), 1)))


class ApiUser(HttpUser):
    """One signed-in demo user browsing and writing at a human pace."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.user = _USERS[next(_NEXT)]
        self.client.headers["Authorization"] = f"Bearer {mint(self.user)}"
        self.campaign_ids: list[str] = []
        # Reported apart: the token is new to the server (verified, its user looked up),
        # and every user sends this call at once when the run starts.
        self.list_campaigns(name="first call (sign-in)")

    @task(3)
    def profile(self) -> None:
        self.client.get("/api/auth/profile/", name="profile")

    @task(3)
    def list_campaigns(self, name: str = "campaign list") -> None:
        response = self.client.get("/api/campaigns/", name=name)
        if response.ok:
            self.campaign_ids = [c["id"] for c in response.json()["results"]]

    @task(1)
    def create_campaign(self) -> None:
        if self.user["role"] in _CREATORS:
            self.client.post(
                "/api/campaigns/",
                json={"name": f"Load {uuid.uuid4().hex[:8]}"},
                name="campaign create",
            )

    @task(2)
    def vote(self) -> None:
        if self.campaign_ids:
            campaign = random.choice(self.campaign_ids)
            self.client.post(f"/api/campaigns/{campaign}/vote/", name="campaign vote")

    @task(2)
    def notifications(self) -> None:
        self.client.get("/api/notifications/", name="notifications")


class HealthUser(HttpUser):
    """The floor of a load run: the health endpoint alone, at the same pace as ``ApiUser``.

    Run it on its own (``locust -f tests/load/locustfile.py HealthUser``); the load
    benchmark compares the mix's throughput with it, measured in the same run.
    """

    wait_time = ApiUser.wait_time

    @task
    def health(self) -> None:
        self.client.get("/api/health/", name="health")
