"""Locust at 200 concurrent users against the example under gunicorn: nothing fails.

Bounded in time and on loopback; the figures are in the benchmark report
(``benchmarks/bench_load.py``), this test asserts only what must hold at any speed: no
failed request and no ``too many connections`` from PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.load.harness import example_env, run_load
from tests.support import EXAMPLE
from tests.support import example_env as env_of_this_test

if TYPE_CHECKING:
    from pathlib import Path

USERS = 200
SECONDS = 20


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_users_without_a_failure(tmp_path: Path) -> None:
    env = example_env(env_of_this_test()["DATABASE_URL"])
    demo = tmp_path / "demo.json"
    seed = ["seed_demo", "--organizations", "4", "--users-per-org", "10", "--json", str(demo)]
    for command in (["migrate", "--no-input"], seed):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert sum(len(org["users"]) for org in json.loads(demo.read_text())["organizations"]) == 40
    report = run_load(env, demo, tmp_path, users=USERS, seconds=SECONDS)
    assert report.failures == []
    assert report.total.failures == 0
    assert report.total.requests > USERS  # every user got going
    names = {row.name for row in report.endpoints}
    assert names >= {
        "profile",
        "campaign list",
        "campaign create",
        "campaign vote",
        "notifications",
    }
    assert all(row.requests > 0 for row in report.endpoints)
    assert "too many connections" not in report.server_log.lower()
    assert "Traceback" not in report.server_log
