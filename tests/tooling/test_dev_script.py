"""``scripts/dev.py test``: which run gets which arguments, what fails a run; serve's state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import dev
from tests.support import pgtools

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TEST = "example_project/tests/test_health.py"


def test_without_arguments_both_runs_get_everything() -> None:
    assert dev.route([], ROOT) == ([], [])
    assert dev.route(["-x", "-k", "campaign"], ROOT) == (["-x", "-k", "campaign"],) * 2


def test_paths_choose_the_run_and_become_absolute() -> None:
    example = f"{ROOT / EXAMPLE_TEST}::test_health_ok"
    library = str(ROOT / "tests" / "test_conf.py")
    assert dev.route([f"{EXAMPLE_TEST}::test_health_ok", "-x"], ROOT) == (None, ["-x", example])
    assert dev.route(["tests/test_conf.py"], ROOT) == ([library], None)
    # No such files from tests/: left to pytest, in both runs, to report.
    missing = ["-q", "conf.py", EXAMPLE_TEST]
    assert dev.route(missing, ROOT / "tests") == (missing, missing)
    mixed = dev.route(["tests/test_conf.py", EXAMPLE_TEST, "-q"], ROOT)
    assert mixed == (["-q", library], ["-q", str(ROOT / EXAMPLE_TEST)])


def test_no_test_collected_fails_a_full_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert dev.verdict({"library's": 0, "example's": 0, "coverage": 0}, full=True) == 0
    assert dev.verdict({"library's": 0, "example's": 5, "coverage": 0}, full=True) == 5
    assert "pytest collected no test in the example's tests." in capsys.readouterr().err
    assert dev.verdict({"library's": 0, "example's": 0, "coverage": 2}, full=True) == 2


def test_a_narrowed_run_fails_when_nothing_ran_or_something_failed() -> None:
    assert dev.verdict({"library's": 5, "example's": 0}, full=False) == 0
    assert dev.verdict({"library's": 5, "example's": 5}, full=False) == 5
    assert dev.verdict({"library's": 1, "example's": 5}, full=False) == 1
    assert dev.verdict({"example's": 0}, full=False) == 0


def test_serve_state_is_read_only_while_serve_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev, "STATE", tmp_path / "services.env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pa ss@db/app")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    dev.write_state()  # as this process: a serve that runs
    assert dev.read_state() == {
        "DATABASE_URL": "postgresql://app:pa ss@db/app",
        "REDIS_URL": "redis://127.0.0.1:6390/0",
        "DJANGO_DEBUG": "true",
    }
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = dev.STATE.read_text().replace(f"(pid {os.getpid()})", f"(pid {gone.pid})")
    dev.STATE.write_text(stale)
    assert dev.read_state() is None
    assert not dev.STATE.exists()  # a killed serve's file is removed


def _dev_test(*args: str) -> subprocess.CompletedProcess[str]:
    """``dev.py _test`` on a database of its own (this run's test database is in use)."""
    env = {**os.environ, "DATABASE_URL": pgtools.url(name="supahybrid_devpy")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dev.py"), "_test", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_dev_test_runs_one_example_test_under_the_examples_settings() -> None:
    done = _dev_test(f"{EXAMPLE_TEST}::test_health_ok")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The example's tests (example_project/tests/)" in done.stderr
    assert "The library's tests" not in done.stderr
    assert "1 passed" in done.stdout
    assert "settings: config.settings" in done.stdout


@pytest.mark.slow
def test_dev_test_fails_when_no_test_ran() -> None:
    done = _dev_test("-k", "no_test_has_this_name")
    assert done.returncode == 5, done.stdout + done.stderr
    assert "pytest collected no test in the library's tests." in done.stderr
    assert "pytest collected no test in the example's tests." in done.stderr
