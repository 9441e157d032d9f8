from __future__ import annotations

import pytest
from django.core.checks import Error, Warning, run_checks
from django.test import override_settings

from django_supahybrid.checks.conf import check_settings


def _ids(messages: list[object]) -> list[str]:
    return [m.id for m in messages]  # type: ignore[attr-defined]


def test_no_messages_by_default() -> None:
    assert check_settings() == []


@override_settings(SUPAHYBRID={"SUPABASE_URL": "https://abc.supabase.co"})
def test_valid_url_passes() -> None:
    assert check_settings() == []


@override_settings(SUPAHYBRID={"BOGUS": 1})
def test_e001_invalid_settings() -> None:
    [message] = check_settings()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E001"
    assert "BOGUS" in message.msg
    assert message.hint


@pytest.mark.parametrize("url", ["abc.supabase.co", "ftp://abc.supabase.co", "https://"])
def test_e002_not_a_url(url: str) -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": url}):
        [message] = check_settings()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E002"
    assert repr(url) in message.msg


@pytest.mark.parametrize("path", ["/auth/v1", "/rest/v1/"])
def test_w001_url_with_path(path: str) -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": f"https://abc.supabase.co{path}"}):
        [message] = check_settings()
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W001"
    assert "https://abc.supabase.co" in (message.hint or "")


def test_trailing_slash_is_not_a_path() -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": "https://abc.supabase.co/"}):
        assert check_settings() == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://abc.supabase.co", ["supahybrid.W002"]),
        ("http://127.0.0.1:54321", []),
        ("http://localhost:54321", []),
        ("http://db.example.com/auth/v1", ["supahybrid.W001", "supahybrid.W002"]),
    ],
)
def test_w002_plain_http(url: str, expected: list[str]) -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": url}):
        assert _ids(check_settings()) == expected


def test_registered_with_django() -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": "nope"}):
        assert "supahybrid.E002" in _ids(run_checks())
