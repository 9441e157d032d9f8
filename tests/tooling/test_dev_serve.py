"""``python3 scripts/dev.py serve``: a working curl line, the servers it uses said and shared
with ``manage``, and Ctrl-C or SIGTERM stopping everything it started, even after a run
that was killed."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "scripts" / "dev.py"

pytestmark = pytest.mark.slow

_SHOW = (
    "import json; from django.conf import settings; print(json.dumps({"
    "'cache': settings.CACHES['default']['LOCATION'],"
    "'database': settings.DATABASES['default']['HOST'], 'debug': settings.DEBUG}))"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _env(data: Path) -> dict[str, str]:
    """A fresh developer's environment: no servers, no settings; serve's data in ``data``."""
    unset = (
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_DEBUG",
        "DJANGO_SECRET_KEY",
        "DJANGO_SETTINGS_MODULE",
    )
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env["SUPAHYBRID_DEV_DATA_DIR"] = str(data)
    return env


class _Serve:
    """``dev.py _serve`` (what ``serve`` runs inside .venv) in its own process group."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, str(DEV), "_serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C goes to the whole group
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.decode(errors="replace"))

    def wait_for(self, pattern: str, timeout: float = 240) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} in:\n{self.text}"
            with contextlib.suppress(queue.Empty):
                self.lines.append(self._queue.get(timeout=min(remaining, 1)))

    @property
    def text(self) -> str:
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return "".join(self.lines)

    def stop(self, sig: signal.Signals, *, group: bool) -> int:
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        time.sleep(0.2)  # the reader thread takes the last lines
        return code


@contextlib.contextmanager
def _serving(env: dict[str, str]) -> Iterator[_Serve]:
    serve = _Serve(env, _free_port())
    try:
        yield serve
    finally:
        if serve.process.poll() is None:
            serve.stop(signal.SIGINT, group=True)  # the servers it started stop too
        assert serve.process.stdout is not None
        serve.process.stdout.close()


def _profile(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    for _ in range(100):  # the server starts right after the line is printed
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                profile: dict[str, object] = json.load(response)
                return profile
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server never answered")


def _postmaster(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().split()[0])


def test_serve_says_what_it_uses_shares_it_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with _serving(env) as serve:
        curl = serve.wait_for(r'curl -H "Authorization: Bearer ([\w.-]+)" (\S+)')
        token, url = curl.groups()
        assert url == f"http://127.0.0.1:{serve.port}/api/auth/profile/"
        profile = _profile(url, token)
        assert profile["email"] == "org1-user1@demo.example.com"
        assert profile["role"] == "admin"
        assert profile["organization"]["name"] == "Demo Organization 1"  # type: ignore[index]
        text = serve.text
        data = re.escape(str(tmp_path / "postgres"))
        assert re.search(
            rf"PostgreSQL at \S+: embedded, started \(pid \d+\); data kept in {data}", text
        )
        valkey = re.search(
            r"Redis at redis://127\.0\.0\.1:\d+/0: embedded Valkey, started \(pid (\d+)\)", text
        )
        assert valkey is not None
        assert "DJANGO_DEBUG=true: development mode" in text
        state = (tmp_path / "services.env").read_text()
        exports = re.findall(r"^export (\w+)=(\S+)$", state, flags=re.MULTILINE)
        assert [name for name, _ in exports] == ["DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG"]
        for name, value in exports:
            assert f"  export {name}={value}\n" in text  # printed, to paste
        # A management command in another terminal reaches the same servers.
        shown = subprocess.run(
            [sys.executable, str(DEV), "_manage", "shell", "-c", _SHOW],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        assert "Using the servers of the running serve" in shown.stderr
        settings = json.loads(shown.stdout.splitlines()[-1])
        redis_url = dict(exports)["REDIS_URL"]
        assert settings == {
            "cache": redis_url,
            "database": str(tmp_path / "postgres"),
            "debug": True,
        }
        postgres = _postmaster(tmp_path)
        assert _running(postgres)
        assert serve.stop(signal.SIGINT, group=True) == 0
    assert "Traceback" not in serve.text, serve.text
    assert "Stopped PostgreSQL" in serve.text
    assert "Stopped Redis" in serve.text
    assert not _running(postgres)
    assert not _running(int(valkey.group(1)))
    assert not (tmp_path / "services.env").exists()
    assert json.loads((tmp_path / "postgres" / ".handle_pids.json").read_text()) == []


def test_serve_recovers_from_a_killed_run_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = _env(tmp_path)
    orphans: list[int] = []
    try:
        with _serving(env) as killed:
            killed.wait_for("Quit the server with CONTROL-C")
            valkey = re.search(r"embedded Valkey, started \(pid (\d+)\)", killed.text)
            assert valkey is not None
            orphans.append(int(valkey.group(1)))
            killed.stop(signal.SIGKILL, group=False)  # no cleanup can run
        postgres = _postmaster(tmp_path)
        assert _running(postgres)  # left running, its handle list naming a dead process
        handles = tmp_path / "postgres" / ".handle_pids.json"
        assert json.loads(handles.read_text()) == [killed.process.pid]
        with _serving(env) as again:
            again.wait_for("Quit the server with CONTROL-C")
            assert re.search(r"PostgreSQL at \S+: embedded, already running", again.text)
            assert again.stop(signal.SIGTERM, group=False) == 0
        assert "Traceback" not in again.text, again.text
        assert not _running(postgres)
        assert json.loads(handles.read_text()) == []
        assert not (tmp_path / "services.env").exists()
    finally:
        with contextlib.suppress(OSError, ValueError):
            orphans.append(_postmaster(tmp_path))  # still running if the test failed
        for pid in orphans:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
