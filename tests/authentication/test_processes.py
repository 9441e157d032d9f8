"""Invalidation and key revocation across worker processes that share Redis, for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

import django_supahybrid
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token
from tests.authentication.conftest import ISSUER, SECRET, Configure
from tests.support import pgtools

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = str(Path(django_supahybrid.__file__).resolve().parents[1])
STALENESS = 1.0


class Worker:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def ask(self, token: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())  # type: ignore[no-any-return]

    def wait_for(self, token: str, expected: dict[str, Any], timeout: float) -> float:
        """Seconds until the worker answers ``expected`` (fails after ``timeout``)."""
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            if self.ask(token) == expected:
                return elapsed
            assert elapsed < timeout, (
                f"the other process still answers the old state after {elapsed:.1f} s"
            )
            time.sleep(0.02)


@pytest.fixture
def start_worker(configure: Configure) -> Iterator[Callable[..., Worker]]:
    """Starts a worker process with this process's settings plus ``overrides``."""
    procs: list[subprocess.Popen[str]] = []

    def start(**overrides: Any) -> Worker:
        supahybrid = configure(AUTH_MAX_STALENESS=STALENESS, **overrides)
        env = {
            **os.environ,
            "DATABASE_URL": pgtools.url(),
            # The library this process imported, wherever it is (installed or a checkout).
            "PYTHONPATH": os.pathsep.join([str(ROOT), LIBRARY]),
            "SUPAHYBRID_JSON": json.dumps(supahybrid),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.auth_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        procs.append(proc)
        return Worker(proc)

    yield start
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_changes_reach_the_other_process_within_the_window(worker: Worker) -> None:
    sub = uuid.uuid4()
    user = User.objects.create(username=str(sub), first_name="Ada")
    SupabaseIdentity.objects.create(user=user, sub=sub)
    token = mint_token(make_claims(sub, issuer=ISSUER), secret=SECRET)
    assert worker.ask(token) == {"ok": True, "first_name": "Ada"}
    assert worker.ask(token) == {"ok": True, "first_name": "Ada"}  # now a local hit there

    user.first_name = "Grace"
    user.save()  # committed: the generation moves in Redis
    seen_after = worker.wait_for(token, {"ok": True, "first_name": "Grace"}, timeout=10)
    assert seen_after <= STALENESS + 1.0  # the window plus scheduling slack

    user.is_active = False
    user.save()
    refused_after = worker.wait_for(token, {"ok": False, "code": "user_inactive"}, timeout=10)
    assert refused_after <= STALENESS + 1.0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_purged_signing_key_is_refused_by_the_other_process_within_the_window(
    start_worker: Callable[..., Worker], signing_keys: dict[str, SigningKey]
) -> None:
    revoked, kept = signing_keys["ES256"], signing_keys["RS256"]
    with JWKSServer([revoked, kept]) as server:
        worker = start_worker(JWKS_URL=server.url)
        cached = mint_token(make_claims(issuer=ISSUER), key=revoked)
        other = mint_token(make_claims(issuer=ISSUER), key=kept)
        assert worker.ask(cached) == {"ok": True, "first_name": ""}
        assert worker.ask(cached) == {"ok": True, "first_name": ""}  # a local hit there
        assert worker.ask(other) == {"ok": True, "first_name": ""}

        server.keys = [kept]  # the key is revoked in the dashboard...
        call_command("supahybrid_jwks", "purge")  # ...and purged from this process
        refused = {"ok": False, "code": "unknown_key"}
        refused_after = worker.wait_for(cached, refused, timeout=10)
        assert refused_after <= STALENESS + 1.0  # the window plus scheduling slack

        # A token it has never seen, signed with the purged key, is refused at once; the
        # other key still works.
        assert worker.ask(mint_token(make_claims(issuer=ISSUER), key=revoked)) == refused
        assert worker.ask(other) == {"ok": True, "first_name": ""}
