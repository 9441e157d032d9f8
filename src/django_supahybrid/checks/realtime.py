"""System checks for realtime notifications (ids ``supahybrid.E040`` to ``E049``, ``W040``...).

``supahybrid.W062`` (partitions of Supabase's ``realtime.messages``) reads the database, so
it is tagged ``database`` and numbered with the other checks of Supabase's own schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connections
from django.db.models import Model
from django.utils.module_loading import import_string

from django_supahybrid.checks._base import with_settings
from django_supahybrid.conf import SupaHybridSettings

__all__ = ["check_realtime_models", "check_realtime_partitions", "check_realtime_settings"]


@with_settings
def check_realtime_settings(conf: SupaHybridSettings, **kwargs: Any) -> list[checks.CheckMessage]:
    """Transports importable; the listening alias exists and is not a transaction pooler."""
    from django_supahybrid.realtime.listen import is_transaction_pooler
    from django_supahybrid.realtime.transports import Transport

    messages: list[checks.CheckMessage] = []
    for path in conf.REALTIME_TRANSPORTS:
        try:
            transport = import_string(path)
        except ImportError as exc:
            transport, problem = None, f"cannot be imported ({exc})"
        else:
            problem = "is not a subclass of django_supahybrid.realtime.transports.Transport"
        if not (isinstance(transport, type) and issubclass(transport, Transport)):
            messages.append(
                checks.Error(
                    f"SUPAHYBRID['REALTIME_TRANSPORTS'] entry {path!r} {problem}.",
                    hint="List dotted paths of Transport subclasses, such as "
                    "'django_supahybrid.realtime.transports.NotifyTransport'.",
                    id="supahybrid.E040",
                )
            )
    alias = conf.REALTIME_LISTEN_DATABASE
    if alias not in settings.DATABASES:
        messages.append(
            checks.Error(
                f"SUPAHYBRID['REALTIME_LISTEN_DATABASE'] is {alias!r}, which is not in DATABASES.",
                hint=f"Use one of: {', '.join(sorted(settings.DATABASES))}.",
                id="supahybrid.E041",
            )
        )
    elif is_transaction_pooler(settings.DATABASES[alias]):
        messages.append(
            checks.Warning(
                f"SUPAHYBRID['REALTIME_LISTEN_DATABASE'] is {alias!r}, a transaction-mode "
                "pooler connection: LISTEN cannot work through it.",
                hint="Add a DATABASES alias on the direct connection or the session-mode "
                "pooler (port 5432) and name it in REALTIME_LISTEN_DATABASE.",
                id="supahybrid.W040",
            )
        )
    return messages


def check_realtime_models(**kwargs: Any) -> list[checks.CheckMessage]:
    """Every ``RealtimeModel``'s declaration names concrete fields of the model itself."""
    from django_supahybrid.realtime.models import RealtimeModel

    messages: list[checks.CheckMessage] = []
    for model in apps.get_models():
        if issubclass(model, RealtimeModel):
            messages += _model_messages(model)
    return messages


def _model_messages(model: type[Model]) -> list[checks.CheckMessage]:
    from django_supahybrid.realtime.models import declaration_of

    decl = declaration_of(model)
    messages: list[checks.CheckMessage] = []
    for name in filter(None, [decl.user, decl.organization, *decl.fields]):
        try:
            concrete = model._meta.get_field(name).concrete
        except FieldDoesNotExist:
            concrete = False
        if not concrete:
            messages.append(
                checks.Error(
                    f"{model._meta.label}'s realtime declaration names {name!r}, which is "
                    "not a concrete field of the model.",
                    hint="Realtime.user, Realtime.organization (or the Scoping ones) and "
                    "Realtime.fields must name fields of the model itself, such as a "
                    "foreign key ('organization'), not a path ('campaign__organization').",
                    obj=model,
                    id="supahybrid.E042",
                )
            )
    return messages


def check_realtime_partitions(
    databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Supabase's ``realtime.messages`` can store Broadcast messages today and tomorrow."""
    from django_supahybrid.realtime.storage import missing_partitions
    from django_supahybrid.realtime.transports import BroadcastTransport, configured_transports

    try:
        broadcasting = any(isinstance(t, BroadcastTransport) for t in configured_transports())
    except (ImportError, ImproperlyConfigured):  # supahybrid.E001 / E040 say why
        return []
    if not broadcasting:
        return []
    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        missing = missing_partitions(connection)
        if missing:
            days = ", ".join(day.isoformat() for day in missing)
            messages.append(
                checks.Warning(
                    f"realtime.messages on database {alias!r} has no partition for {days} "
                    "(UTC): Broadcast messages sent then are lost, since realtime.send() "
                    "turns the failed insert into a WARNING and the transaction commits.",
                    hint="Supabase Realtime creates a partition per day ahead of time; "
                    "check that it runs for this project, or create the partition as the "
                    "table's owner: CREATE TABLE realtime.messages_YYYY_MM_DD PARTITION OF "
                    "realtime.messages FOR VALUES FROM ('YYYY-MM-DD') TO ('<next day>').",
                    id="supahybrid.W062",
                )
            )
    return messages
