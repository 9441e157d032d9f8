from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_supahybrid.conf import SupaHybridSettings, app_settings


def test_defaults_when_setting_absent(settings: object) -> None:
    del settings.SUPAHYBRID  # type: ignore[attr-defined]
    assert app_settings() == SupaHybridSettings()
    assert app_settings().SUPABASE_URL is None


def test_override_settings_reloads() -> None:
    with override_settings(SUPAHYBRID={"SUPABASE_URL": "https://abc.supabase.co"}):
        assert app_settings().SUPABASE_URL == "https://abc.supabase.co"
    assert app_settings().SUPABASE_URL is None


@override_settings(SUPAHYBRID={"SUPABASE_URI": "x", "OTHER": 1})
def test_unknown_keys_named_with_valid_ones() -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        app_settings()
    message = str(excinfo.value)
    assert "OTHER, SUPABASE_URI" in message
    assert "Valid keys are: " in message
    assert "SUPABASE_URL" in message.split("Valid keys are: ")[1]


@override_settings(SUPAHYBRID=["SUPABASE_URL"])
def test_not_a_dict() -> None:
    with pytest.raises(ImproperlyConfigured, match="must be a dict, got list"):
        app_settings()


@override_settings(SUPAHYBRID={"SUPABASE_URL": 42})
def test_wrong_type_names_key_value_and_expected() -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        app_settings()
    assert str(excinfo.value) == "settings.SUPAHYBRID['SUPABASE_URL'] must be str | None, got 42."


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        (1, int, True),
        (True, int, False),
        (1.5, float, True),
        (2, float, True),
        (False, float, False),
        (None, int | None, True),
        ("a", int | None, False),
        (("a", "b"), tuple[str, ...], True),
        (["a", 1], list[str], False),
        ("ab", list[str], False),
        ({"a": 1}, dict[str, int], True),
        ({"a": "x"}, dict[str, int], False),
        ([], dict[str, int], False),
        ("strict", "Literal", None),
    ],
)
def test_type_matching(value: object, hint: object, expected: bool | None) -> None:
    from typing import Any, Literal

    from django_supahybrid.conf import _matches

    if hint == "Literal":
        assert _matches("strict", Literal["strict", "lax"])
        assert not _matches("other", Literal["strict", "lax"])
        assert _matches(object(), Any)
        assert _matches([1], list)
        return
    assert _matches(value, hint) is expected


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("JWT_SECRET", b"bytes-secret-0123456789-0123456789", "<redacted bytes>"),
        ("JWT_SECRET", ["list-secret-0123456789"], "<redacted list>"),
        ("METRICS_TOKEN", 12345678901234567890, "<redacted int>"),
    ],
)
def test_secrets_are_redacted_in_messages(
    key: str, value: object, shown: str, settings: Any
) -> None:
    from django_supahybrid.checks.conf import check_settings

    settings.SUPAHYBRID = {key: value}
    with pytest.raises(ImproperlyConfigured) as excinfo:
        app_settings()
    message = str(excinfo.value)
    assert message.endswith(f", got {shown}.")
    secret = str(value[0] if isinstance(value, list) else value)
    assert secret.removeprefix("b'").removesuffix("'") not in message
    [error] = check_settings()
    assert error.id == "supahybrid.E001"
    assert secret not in error.msg


def test_secret_strings_show_their_length_only() -> None:
    from django_supahybrid.conf import is_secret, shown

    assert shown("JWT_SECRET", "hunter2") == "<redacted str of 7 characters>"
    assert shown("JWT_SECRET", None) == "None"
    assert shown("SUPABASE_URL", "https://x.supabase.co") == "'https://x.supabase.co'"
    assert [name for name in SupaHybridSettings.__dataclass_fields__ if is_secret(name)] == [
        "JWT_SECRET",
        "METRICS_TOKEN",
    ]


def test_secrets_stay_out_of_repr(settings: Any) -> None:
    settings.SUPAHYBRID = {
        "JWT_SECRET": "jwt-secret-value-0123456789-0123456789",
        "METRICS_TOKEN": "metrics-token-value",
    }
    text = repr(app_settings())
    assert "jwt-secret-value" not in text
    assert "metrics-token-value" not in text
