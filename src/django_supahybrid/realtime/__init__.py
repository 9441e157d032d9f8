"""Realtime notifications: publish rows after commit, listen for them, set up Supabase.

Import after Django is set up (it defines an abstract model). The pieces:

- `RealtimeModel` and `publish` (``models``): events after commit;
- `listen` (``listen``): a generator of notifications from ``LISTEN``;
- `channel_name` / `topic_name` (``events``): where a stream is published;
- migration operations (``operations``) and test helpers (``testing``).
"""

from __future__ import annotations

from django_supahybrid.realtime.events import RealtimeEvent, channel_name, topic_name
from django_supahybrid.realtime.listen import (
    Listener,
    Notification,
    TransactionPoolerError,
    is_transaction_pooler,
    listen,
)
from django_supahybrid.realtime.models import RealtimeModel, publish

__all__ = [
    "Listener",
    "Notification",
    "RealtimeEvent",
    "RealtimeModel",
    "TransactionPoolerError",
    "channel_name",
    "is_transaction_pooler",
    "listen",
    "publish",
    "topic_name",
]
