"""Realtime events: channel names, payloads and the size guard.

An event is built when a row is saved or deleted and published after the transaction
commits. Its payload is a small JSON object:

```python
{"op": "INSERT", "model": "notes.note", "table": "notes_note", "pk": 7,
 "user": 12, "organization": 3, "fields": {"title": "Hello"}}
```

A transport encodes it for its own size limit; past the limit the declared ``fields``
are dropped and ``"truncated": true`` is added, so a consumer knows to fetch the row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model

__all__ = [
    "CHANNEL_PREFIX",
    "MAX_CHANNEL_BYTES",
    "Operation",
    "RealtimeEvent",
    "channel_name",
    "topic_name",
]

CHANNEL_PREFIX = "supahybrid"
#: PostgreSQL identifiers (and so NOTIFY channels) hold at most NAMEDATALEN - 1 bytes.
MAX_CHANNEL_BYTES = 63

Operation = Literal["INSERT", "UPDATE", "DELETE"]
TargetKind = Literal["user", "organization"]


def _label(model: type[Model] | str) -> str:
    return model.lower() if isinstance(model, str) else model._meta.label_lower


def topic_name(model: type[Model] | str, kind: TargetKind | None = None, target: Any = None) -> str:
    """The unhashed name of a model's (or one target's) stream of events.

    ``model`` is a model class or its ``"<app_label>.<model_name>"`` label. Without
    ``kind`` it names the model-wide stream (for rows with no target):
    ``supahybrid:notes.note``; with it, one user's or organization's:
    ``supahybrid:notes.note:user:12``. Supabase Broadcast topics use this name as is; a
    listener for one user's events passes ``channel_name(Note, "user", user.pk)`` to
    ``listen()``.
    """
    name = f"{CHANNEL_PREFIX}:{_label(model)}"
    if kind is not None:
        name += f":{kind}:{target}"
    return name


def channel_name(
    model: type[Model] | str, kind: TargetKind | None = None, target: Any = None
) -> str:
    """The PostgreSQL ``NOTIFY`` channel for `topic_name`'s stream.

    A channel is an identifier, at most 63 bytes; a longer topic is replaced by
    ``supahybrid:`` and a SHA-256 prefix of it, so publisher and listener still agree.
    """
    topic = topic_name(model, kind, target)
    if len(topic.encode()) <= MAX_CHANNEL_BYTES:
        return topic
    digest = hashlib.sha256(topic.encode()).hexdigest()
    return f"{CHANNEL_PREFIX}:{digest[: MAX_CHANNEL_BYTES - len(CHANNEL_PREFIX) - 1]}"


def _dumps(data: dict[str, Any]) -> str:
    # ASCII only, so the length in characters is the length in bytes in any server encoding.
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=True)


@dataclasses.dataclass(frozen=True)
class RealtimeEvent:
    """One change of one row, as published.

    ``target`` is the most specific recipient the row declares and holds: its user when
    set, else its organization, else ``None`` (the model-wide stream).
    """

    op: Operation
    model_label: str
    table: str
    pk: Any
    targets: dict[str, Any]
    fields: dict[str, Any]

    @property
    def target(self) -> tuple[TargetKind, Any] | None:
        """``("user", id)``, ``("organization", id)`` or ``None``."""
        for kind in ("user", "organization"):
            value = self.targets.get(kind)
            if value is not None:
                return kind, value
        return None

    @property
    def channel(self) -> str:
        """The ``NOTIFY`` channel this event is published on."""
        target = self.target
        return channel_name(self.model_label, *(target or ()))

    @property
    def topic(self) -> str:
        """The Supabase Broadcast topic this event is published on."""
        target = self.target
        return topic_name(self.model_label, *(target or ()))

    def key(self) -> dict[str, Any]:
        """The payload without the declared fields: what identifies the row."""
        return {
            "op": self.op,
            "model": self.model_label,
            "table": self.table,
            "pk": self.pk,
            **self.targets,
        }

    def encode(self, max_bytes: int) -> str:
        """The JSON payload, at most ``max_bytes`` bytes.

        Past the limit the declared fields are left out and ``"truncated": true`` is
        added; if even the key does not fit (a huge primary key), only the operation and
        the model remain. Never raises for size.
        """
        full = _dumps({**self.key(), "fields": self.fields})
        if len(full) <= max_bytes:
            return full
        key_only = _dumps({**self.key(), "truncated": True})
        if len(key_only) <= max_bytes:
            return key_only
        return _dumps({"op": self.op, "model": self.model_label, "truncated": True})
