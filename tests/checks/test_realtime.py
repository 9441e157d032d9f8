from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.db import models
from django.test import override_settings
from django.test.utils import isolate_apps

from django_supahybrid.checks.realtime import (
    _model_messages,
    check_realtime_models,
    check_realtime_settings,
)
from django_supahybrid.realtime import RealtimeModel


def test_defaults_pass() -> None:
    assert check_realtime_settings() == []
    assert check_realtime_models() == []


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("django_supahybrid.realtime.transports.Nope", "cannot be imported"),
        ("nowhere.Transport", "cannot be imported"),
        ("django_supahybrid.realtime.events.RealtimeEvent", "is not a subclass"),
        ("django_supahybrid.realtime.events.channel_name", "is not a subclass"),
    ],
)
def test_e040_bad_transport(path: str, problem: str) -> None:
    transports = ["django_supahybrid.realtime.transports.NotifyTransport", path]
    with override_settings(SUPAHYBRID={"REALTIME_TRANSPORTS": transports}):
        [message] = check_realtime_settings()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E040"
    assert repr(path) in message.msg
    assert problem in message.msg


def test_e041_unknown_listen_database() -> None:
    with override_settings(SUPAHYBRID={"REALTIME_LISTEN_DATABASE": "listener"}):
        [message] = check_realtime_settings()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E041"
    assert "'listener'" in message.msg
    assert "default, other" in (message.hint or "")


def test_w040_listen_database_behind_transaction_pooler() -> None:
    # Added in place for the check to read: overriding DATABASES would warn (and be
    # ignored by the connection handler, which the check does not use).
    settings.DATABASES["pooled"] = {**settings.DATABASES["default"], "PORT": "6543"}
    try:
        with override_settings(SUPAHYBRID={"REALTIME_LISTEN_DATABASE": "pooled"}):
            [message] = check_realtime_settings()
    finally:
        del settings.DATABASES["pooled"]
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W040"
    assert "LISTEN cannot work" in message.msg


def test_invalid_settings_are_left_to_e001() -> None:
    with override_settings(SUPAHYBRID={"REALTIME_TRANSPORTS": "not a tuple"}):
        assert check_realtime_settings() == []


@isolate_apps("tests.testapp")
def test_e042_declaration_names_no_concrete_field() -> None:
    class Parent(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "testapp"

    class Broken(RealtimeModel):
        parent = models.ForeignKey(Parent, on_delete=models.CASCADE)
        title = models.CharField(max_length=10)

        class Meta:
            app_label = "testapp"

        class Realtime:
            organization = "parent__organization"
            fields = ("title", "missing")

    class BrokenScoping(RealtimeModel):
        class Meta:
            app_label = "testapp"

        class Scoping:
            user = "owner"

    class Reverse(RealtimeModel):
        class Meta:
            app_label = "testapp"

        class Realtime:
            fields = ("parent",)

    class Child(models.Model):  # noqa: DJ008
        parent = models.ForeignKey(Reverse, on_delete=models.CASCADE, related_name="parent")

        class Meta:
            app_label = "testapp"

    messages = _model_messages(Broken) + _model_messages(BrokenScoping)
    messages += _model_messages(Reverse)  # a reverse relation is not a concrete field
    assert [m.id for m in messages] == ["supahybrid.E042"] * 4
    assert [m.obj for m in messages] == [Broken, Broken, BrokenScoping, Reverse]
    assert "'parent__organization'" in messages[0].msg
    assert "'missing'" in messages[1].msg
    assert "'owner'" in messages[2].msg


def test_registered_with_django() -> None:
    with override_settings(SUPAHYBRID={"REALTIME_LISTEN_DATABASE": "nope"}):
        assert "supahybrid.E041" in [m.id for m in run_checks()]
