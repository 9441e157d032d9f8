"""The notification stream under real servers: gunicorn (gthread), uvicorn and runserver.

Each server runs the example in one process. A stream is opened over HTTP with a user's
Supabase access token (minted with the library's testing helpers); notifications are
committed for that user and for another one, and only the right one arrives, while the
same process keeps answering other requests. Closing the client closes the stream's
listener connection on the server.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
from accounts.models import Organization, Role
from notifications.models import Notification

from tests.support import EXAMPLE, JWT_SECRET, example_env, free_port, make_user, token_for
from tests.test_stream import listeners

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_SERVERS: dict[str, Callable[[int], list[str]]] = {
    "gunicorn-gthread": lambda port: [
        *(sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"),
        *("-w", "1", "-k", "gthread", "--threads", "4"),
    ],
    "uvicorn": lambda port: [
        *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
        *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
    ],
    "runserver": lambda port: [
        *(sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"),
    ],
}


def _headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}", "Accept": "text/event-stream"}


class _Stream:
    """An open ``GET /api/notifications/stream/``, read frame by frame."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.conn.request("GET", "/api/notifications/stream/", headers=headers)
        self.response = self.conn.getresponse()
        self._frames = self._read()

    def _read(self) -> Iterator[str]:
        lines: list[str] = []
        while line := self.response.readline():
            if line.strip():
                lines.append(line.decode())
            elif lines:
                yield "".join(lines)
                lines = []

    def next_frame(self) -> str:
        return next(self._frames)

    def next_event(self) -> dict[str, Any]:
        """The next notification's data, skipping comments and the ``retry`` line."""
        while True:
            frame = self.next_frame()
            if frame.startswith("id: "):
                fields = dict(line.split(": ", 1) for line in frame.splitlines())
                assert fields["event"] == "notification"
                data: dict[str, Any] = json.loads(fields["data"])
                assert data["id"] == fields["id"]
                return data

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def _serve(kind: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        _SERVERS[kind](port),
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while server.poll() is None and time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/health/", timeout=5).close()
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"{kind} never answered: {server.communicate()[0].decode()}")


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _notify(user: Any, title: str) -> Notification:
    return Notification.objects.create(
        recipient=user, organization=user.profile.organization, kind="system", title=title
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", list(_SERVERS))
def test_stream_served(kind: str) -> None:
    organization = Organization.objects.create(name="Streamers")
    alice = make_user("alice@stream.test", organization, Role.VOLUNTEER)
    bob = make_user("bob@stream.test", organization, Role.ADMIN)
    env = {
        **example_env(),
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "NOTIFICATION_STREAM_KEEPALIVE": "1",
    }
    if kind == "uvicorn":
        env["SUPAHYBRID_DB_POOL"] = "none"  # ASGI: no persistent connections per thread
    server, base = _serve(kind, env)
    port = int(base.rsplit(":", 1)[1])
    streams: list[_Stream] = []
    try:
        alices = _Stream(port, _headers(alice))
        streams.append(alices)
        assert alices.response.status == 200
        assert alices.response.getheader("Content-Type") == "text/event-stream"
        assert alices.next_frame() == ": stream open\n"  # LISTEN is running
        bobs = _Stream(port, _headers(bob))
        streams.append(bobs)
        assert bobs.next_frame() == ": stream open\n"
        assert listeners() == 2

        for_bob = _notify(bob, "for Bob")
        for_alice = _notify(alice, "for Alice")
        # Bob's was committed first: had it reached Alice's stream, it would come first.
        assert alices.next_event() == {
            "id": str(for_alice.pk),
            "kind": "system",
            "title": "for Alice",
        }
        assert bobs.next_event()["id"] == str(for_bob.pk)

        # Two streams are open: the same process still answers.
        with urllib.request.urlopen(f"{base}/api/health/", timeout=10) as health:
            assert json.load(health)["status"] == "ok"

        alices.close()
        _wait_for(lambda: listeners() == 1, "the closed stream's listener to close")
        # The other stream is unaffected.
        later = _notify(bob, "later")
        assert bobs.next_event()["id"] == str(later.pk)
        bobs.close()
        _wait_for(lambda: listeners() == 0, "every listener to close")
    finally:
        for stream in streams:
            stream.close()
        server.terminate()
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output
