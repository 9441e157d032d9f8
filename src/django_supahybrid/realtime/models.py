"""``RealtimeModel``: an abstract model whose saves and deletes are published after commit.

A model declares what its events carry in an inner ``Realtime`` class:

```python
class Notification(RealtimeModel):
    recipient = models.ForeignKey(User, on_delete=models.CASCADE)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)

    class Realtime:
        user = "recipient"             # the event goes to this user's channel
        organization = "organization"  # ... or, when the user is empty, the organization's
        fields = ("title",)            # copied into the payload
```

``user`` and ``organization`` default to the same names in the model's ``Scoping`` class
(the organization-scoped querysets' declaration), so a model declares its tenant once.
They must name fields of the model itself (a foreign key or a column holding the id).

``save()``, ``delete()``, ``QuerySet.delete()`` and cascades publish (they send
``post_save`` / ``post_delete``); ``bulk_create()``, ``QuerySet.update()`` and raw saves
(fixtures) do not: publish those with `publish` after the bulk call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.signals import post_delete, post_save

from django_supahybrid._compat import last_on_commit
from django_supahybrid.conf import app_settings
from django_supahybrid.realtime.events import Operation, RealtimeEvent
from django_supahybrid.realtime.transports import publish_now

__all__ = ["RealtimeDeclaration", "RealtimeModel", "declaration_of", "event_for", "publish"]


@dataclasses.dataclass(frozen=True)
class RealtimeDeclaration:
    """A model's ``Realtime`` inner class, read and normalised."""

    user: str | None = None
    organization: str | None = None
    fields: tuple[str, ...] = ()


def declaration_of(model: type[models.Model]) -> RealtimeDeclaration:
    """Read ``model.Realtime``, falling back to ``model.Scoping`` for the targets."""
    realtime = getattr(model, "Realtime", None)
    scoping = getattr(model, "Scoping", None)

    def target(name: str) -> str | None:
        value = getattr(realtime, name, None)
        return value if value is not None else getattr(scoping, name, None)

    return RealtimeDeclaration(
        user=target("user"),
        organization=target("organization"),
        fields=tuple(getattr(realtime, "fields", ())),
    )


def _value(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    return getattr(instance, field.attname)  # type: ignore[union-attr]


def event_for(instance: models.Model, op: Operation) -> RealtimeEvent:
    """The event describing ``op`` on ``instance``, with its values as they are now."""
    meta = instance._meta
    decl = declaration_of(type(instance))
    targets = {
        kind: _value(instance, name)
        for kind, name in (("user", decl.user), ("organization", decl.organization))
        if name is not None
    }
    return RealtimeEvent(
        op=op,
        model_label=meta.label_lower,
        table=meta.db_table,
        pk=instance.pk,
        targets=targets,
        fields={name: _value(instance, name) for name in decl.fields},
    )


def publish(
    instances: Iterable[models.Model], op: Operation = "UPDATE", *, using: str | None = None
) -> None:
    """Publish ``op`` for each instance once the current transaction on ``using`` commits.

    For the paths that send no signal: ``publish(Note.objects.bulk_create(notes), "INSERT")``,
    or ``publish(qs, "UPDATE")`` after ``qs.update(...)`` (re-read ``qs`` if the payload
    carries updated fields). The events of one call go out in one statement per
    transport. ``using`` defaults to the first instance's database.
    """
    rows = list(instances)
    if rows:
        alias = using or rows[0]._state.db or DEFAULT_DB_ALIAS
        _schedule([event_for(row, op) for row in rows], alias)


class _Batch:
    """An ``on_commit`` callback publishing a growing list of events in one go."""

    __slots__ = ("events", "using")

    def __init__(self, events: list[RealtimeEvent], using: str) -> None:
        self.events = events
        self.using = using

    def __call__(self) -> None:
        publish_now(self.events, self.using)


def _schedule(events: list[RealtimeEvent], using: str) -> None:
    if not app_settings().REALTIME_TRANSPORTS:
        return  # publishing turned off: not even a callback
    # on_commit runs the callback at once outside a transaction, at the outermost commit
    # inside one, and drops it when the transaction or a savepoint it was registered in
    # rolls back. Django records, with each callback, the savepoints open when it was
    # registered; when the last callback registered is our batch and the same savepoints
    # are open now, a callback registered now would be kept or dropped exactly with that
    # batch and run right after it, so the events join the batch instead: one statement
    # per transport at commit rather than one per row.
    connection = connections[using]
    if connection.in_atomic_block and (registered := last_on_commit(connection)):
        sids, last = registered
        if isinstance(last, _Batch) and sids == set(connection.savepoint_ids):
            last.events.extend(events)
            return
    transaction.on_commit(_Batch(events, using), using=using)


def _on_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    op: Operation = "INSERT" if kwargs["created"] else "UPDATE"
    _schedule([event_for(instance, op)], kwargs["using"])


def _on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _schedule([event_for(instance, "DELETE")], kwargs["using"])


class RealtimeModel(models.Model):
    """Abstract base: rows of subclasses are published after commit. See the module doc."""

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # One receiver pair per subclass, keyed on the class: other models pay nothing.
        uid = f"django_supahybrid.realtime:{cls.__module__}.{cls.__qualname__}"
        post_save.connect(_on_save, sender=cls, weak=False, dispatch_uid=uid)
        post_delete.connect(_on_delete, sender=cls, weak=False, dispatch_uid=uid)
