"""Smoke test: the example project, as a new user runs it, in a real server process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support import EXAMPLE, example_env, start_gunicorn


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_example_runs_under_gunicorn() -> None:
    env = example_env()
    manage = [sys.executable, "manage.py"]
    check = subprocess.run(
        [*manage, "check", "--fail-level", "WARNING"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    migrate = subprocess.run(
        [*manage, "migrate", "--no-input"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    server, port = start_gunicorn(env)
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=5) as r:
                    body = json.load(r)
                    status = r.status
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the example never answered on /api/health/"
        assert status == 200
        assert body["status"] == "ok"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert b"Traceback" not in output, output.decode(errors="replace")
