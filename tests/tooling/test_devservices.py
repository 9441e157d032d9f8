"""``scripts/devservices.py``: what it tells, when it may change the system, stale handles."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from scripts import devservices

if TYPE_CHECKING:
    from pathlib import Path


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_dead_handles_are_forgotten(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    dead = _dead_pid()
    handles.write_text(json.dumps([dead, os.getpid()]))
    assert devservices.forget_dead_handles(tmp_path) == [dead]
    assert json.loads(handles.read_text()) == [os.getpid()]
    assert devservices.forget_dead_handles(tmp_path) == []  # nothing else to drop
    assert devservices.forget_dead_handles(tmp_path / "missing") == []


def test_passwords_are_not_shown() -> None:
    shown = devservices.display_url("postgresql://app:s3cret@db.example.org:5432/app")
    assert shown == "postgresql://app:***@db.example.org:5432/app"
    socket_url = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert devservices.display_url(socket_url) == socket_url


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class _User:
    """A user at a terminal: the questions put, and the answers still to give."""

    answers: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def ask(self, prompt: str) -> str:
        self.questions.append(prompt)
        return self.answers.pop(0)


@pytest.fixture
def user(monkeypatch: pytest.MonkeyPatch) -> _User:
    # Set rather than deleted, so that both are restored after the test.
    monkeypatch.setenv("CI", "false")
    monkeypatch.setenv(devservices.ALLOW_SYSTEM_CHANGES, "0")
    at_terminal = _User()
    monkeypatch.setattr("builtins.input", at_terminal.ask)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    return at_terminal


def test_ci_may_change_the_system_without_asking(
    monkeypatch: pytest.MonkeyPatch, user: _User
) -> None:
    monkeypatch.setenv("CI", "true")
    assert devservices.may_change_system("Tests", "apt-get install -y pgbouncer") is True
    assert user.questions == []


def test_a_terminal_is_asked_and_a_yes_is_remembered(user: _User) -> None:
    user.answers[:] = ["n", "y"]
    assert devservices.may_change_system("Tests", "apt-get install -y pgbouncer") is False
    assert os.environ[devservices.ALLOW_SYSTEM_CHANGES] == "0"
    assert devservices.may_change_system("Tests", "apt-get install -y pgbouncer") is True
    assert os.environ[devservices.ALLOW_SYSTEM_CHANGES] == "1"  # subprocesses need not ask
    assert len(user.questions) == 2
    assert "apt-get install -y pgbouncer" in user.questions[0]
    assert devservices.may_change_system("Tests", "useradd x") is True
    assert len(user.questions) == 2


def test_without_a_terminal_nothing_changes_and_the_command_is_printed(
    monkeypatch: pytest.MonkeyPatch, user: _User, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    assert devservices.may_change_system("Tests", "apt-get install -y pgbouncer") is False
    assert user.questions == []
    out = capsys.readouterr().out
    assert "apt-get install -y pgbouncer" in out
    assert devservices.ALLOW_SYSTEM_CHANGES in out
