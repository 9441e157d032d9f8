"""Helpers of the example's tests: users in organizations, tokens, servers in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accounts.models import Organization, Role, UserProfile
from campaigns.models import Campaign, Constituency, District
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from django_supahybrid import realtime
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token

#: The example project's directory (manage.py, config/).
EXAMPLE = Path(__file__).resolve().parent.parent


#: The project's JWT secret (``SUPABASE_JWT_SECRET``), as the settings read it.
JWT_SECRET: str = settings.SUPAHYBRID["JWT_SECRET"]


@dataclass
class Tenant:
    organization: Organization
    admin: Any
    manager: Any
    volunteer: Any
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def members(self) -> list[Any]:
        return [self.admin, self.manager, self.volunteer]


@dataclass
class World:
    a: Tenant
    b: Tenant
    loner: Any
    district: District
    constituency: Constituency
    other_district: District
    other_constituency: Constituency


def make_user(email: str, organization: Organization | None, role: str = Role.VOLUNTEER) -> Any:
    user = get_user_model().objects.create(username=email, email=email)
    UserProfile.objects.create(user=user, organization=organization, role=role)
    SupabaseIdentity.objects.create(user=user, sub=uuid.uuid4())
    return user


def token_for(user: Any, secret: str | None = None) -> str:
    """A Supabase-shaped access token for ``user``, signed as Supabase Auth would."""
    claims = make_claims(user.supabase_identity.sub, email=user.email)
    return mint_token(claims, secret=secret or JWT_SECRET)


def token_client_for(user: Any) -> APIClient:
    """A client that authenticates like a browser: with the user's access token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def make_campaign(tenant: Tenant, **fields: Any) -> Campaign:
    fields.setdefault("name", f"Campaign {len(tenant.campaigns) + 1}")
    fields.setdefault("created_by", tenant.admin)
    campaign = Campaign.objects.create(organization=tenant.organization, **fields)
    tenant.campaigns.append(campaign)
    return campaign


def make_tenant(name: str) -> Tenant:
    organization = Organization.objects.create(name=name)
    slug = name.lower().replace(" ", "")
    return Tenant(
        organization,
        admin=make_user(f"admin@{slug}.test", organization, Role.ADMIN),
        manager=make_user(f"manager@{slug}.test", organization, Role.MANAGER),
        volunteer=make_user(f"volunteer@{slug}.test", organization, Role.VOLUNTEER),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def example_env() -> dict[str, str]:
    """The environment of the example in production mode, on this test's database."""
    from django.db import connection

    db = connection.settings_dict
    host = db["HOST"]
    query = f"?host={host}" if host.startswith("/") else ""
    netloc = "" if query else f"{host}:{db['PORT'] or 5432}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgresql://{db['USER']}{password}@{netloc}/{db['NAME']}{query}",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="smoke-test-secret-key-that-is-long-enough-for-django-checks",
        ALLOWED_HOSTS="127.0.0.1",
    )
    return env


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The example under gunicorn (2 workers) on a free loopback port."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return server, port


def drain(listener: realtime.Listener, *, limit: int | None = None) -> list[Any]:
    """Every event until the listener is idle for its timeout (or ``limit`` came)."""
    received: list[Any] = []
    for event in listener:
        if event is None:
            return received
        received.append(event)
        if limit is not None and len(received) >= limit:
            return received
    raise AssertionError("a listener never ends")


def payloads(events: list[Any]) -> list[dict[str, Any]]:
    """The data of each event."""
    return [event.data for event in events]
