"""``python3 scripts/dev.py serve``: demo data, then a ready curl line with a working token."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_example_smoke import _example_env, _free_port

DEV = Path(__file__).resolve().parents[2] / "scripts" / "dev.py"


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.decode(errors="replace"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_serve_prints_a_curl_line_that_works() -> None:
    env = {**_example_env(), "DJANGO_DEBUG": "true"}
    env.pop("DJANGO_SECRET_KEY")
    port = _free_port()
    # "_serve" is what "serve" runs once inside .venv (this interpreter's environment).
    server = subprocess.Popen(
        [sys.executable, str(DEV), "_serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C goes to the whole group, runserver included
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(server.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        curl = None
        while curl is None:
            output.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            curl = re.search(r'curl -H "Authorization: Bearer ([\w.-]+)" (\S+)', output[-1])
        token, url = curl.groups()
        assert url == f"http://127.0.0.1:{port}/api/auth/profile/"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        for _ in range(100):  # the server starts right after the line is printed
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    profile = json.load(response)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server never answered")
        assert profile["email"] == "org1-user1@demo.example.com"
        assert profile["role"] == "admin"
        assert profile["organization"]["name"] == "Demo Organization 1"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            assert server.stdout is not None
            server.stdout.close()
    assert "Traceback" not in "".join(output), "".join(output)
