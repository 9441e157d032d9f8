"""The example API under gunicorn with DEBUG off: schema, offline docs, JSON errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import EXAMPLE, example_env, start_gunicorn

if TYPE_CHECKING:
    from pathlib import Path


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/api/health/", timeout=5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the example never answered on /api/health/")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_served_under_gunicorn(tmp_path: Path) -> None:
    env = example_env()
    manage = [sys.executable, "manage.py"]
    demo = tmp_path / "demo.json"
    for command in (["migrate", "--no-input"], ["seed_demo", "--json", str(demo)]):
        done = subprocess.run(
            [*manage, *command], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    assert len(json.loads(demo.read_text())["organizations"]) == 3
    server, port = start_gunicorn(env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, server)
        status, body, _ = _get(f"{base}/api/schema/?format=json")
        assert status == 200
        schema: dict[str, Any] = json.loads(body)
        assert "/api/campaigns/{id}/vote/" in schema["paths"]
        assert schema["info"]["title"] == "Campaigns API"
        status, body, kind = _get(f"{base}/api/docs/")
        assert status == 200
        assert kind.startswith("text/html")
        assert b"/api/docs/assets/swagger-ui-bundle.js" in body
        status, body, kind = _get(f"{base}/api/docs/assets/swagger-ui-bundle.js")
        assert status == 200
        assert len(body) > 100_000
        for url, data in (
            ("/api/campaigns/", None),
            ("/api/campaigns/", b'{"name": "x"}'),
            ("/api/auth/profile/", None),
            ("/api/notifications/", None),
        ):
            status, body, kind = _get(f"{base}{url}", data)
            assert status in (401, 403), url
            assert kind == "application/json"
            assert json.loads(body)["detail"]
        status, body, kind = _get(f"{base}/no/such/page/")
        assert status == 404
        assert json.loads(body) == {"detail": "Not found.", "code": "not_found"}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert b"Traceback" not in output, output.decode(errors="replace")
