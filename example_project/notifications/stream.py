"""``GET /api/notifications/stream/``: the caller's new notifications as server-sent events.

Built on ``django_supahybrid.realtime.listen``: each open stream owns one ``LISTEN``
connection (never one of Django's), on the caller's channel only, so another user's
notification never reaches it. Every ``NOTIFICATION_STREAM_KEEPALIVE`` seconds without
an event the stream sends a comment line, which keeps proxies from closing it and lets the
server notice a client that went away; the listener's connection is then closed.

The same view serves both kinds of server:

- WSGI (``runserver``, gunicorn ``gthread``): an iterator consumed by the worker thread
  that holds the request (a server with threads keeps serving other requests meanwhile);
  the server's ``close()`` closes the listener.
- ASGI (uvicorn): an async generator. The blocking listener runs in a thread of its own
  and hands events to the event loop through a queue, so an open stream holds no worker of
  the loop and no thread of a shared pool (``sync_to_async(thread_sensitive=False)`` would
  hold one of the default executor's few threads per stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from core.api import APIMixin
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from django_supahybrid.realtime import Listener, channel_name, listen
from notifications.models import Notification

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from django.http import HttpResponseBase
    from rest_framework.request import Request
    from rest_framework.response import Response

__all__ = ["NotificationStreamView", "event_frame"]

logger = logging.getLogger(__name__)

_OPENED = ": stream open\n\nretry: 3000\n\n"
_KEEP_ALIVE = ": keep-alive\n\n"
_APPLICATION_NAME = "example-notification-stream"


def keepalive_seconds() -> float:
    """``settings.NOTIFICATION_STREAM_KEEPALIVE`` (seconds), 15 by default."""
    return float(getattr(settings, "NOTIFICATION_STREAM_KEEPALIVE", 15))


def event_frame(data: Any) -> str | None:
    """The SSE frame for one realtime event: new notifications only, else ``None``."""
    if not isinstance(data, dict) or data.get("op") != "INSERT":
        return None
    body = {**data.get("fields", {}), "id": data["pk"]}
    return f"id: {data['pk']}\nevent: notification\ndata: {json.dumps(body)}\n\n"


def _frames(listener: Listener) -> Iterator[str]:
    """Frames from ``listener``: one per new notification, a comment when idle."""
    for event in listener:
        if event is None:
            yield _KEEP_ALIVE
        elif (frame := event_frame(event.data)) is not None:
            yield frame


class _WSGIStream:
    """The frames for a WSGI server; ``close()`` (called by the server when the client
    went away, or when the response ends) closes the listener, even if never iterated."""

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._frames = _frames(listener)
        self._opened = False

    def __iter__(self) -> _WSGIStream:
        return self

    def __next__(self) -> str:
        if not self._opened:
            self._opened = True
            return _OPENED
        return next(self._frames)

    def close(self) -> None:
        self._listener.close()


async def _asgi_stream(listener: Listener) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stop = threading.Event()

    def hand_over(frame: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(queue.put_nowait, frame)

    def pump() -> None:
        # Iterated and closed in this thread only: a Listener is not shared between threads.
        try:
            for frame in _frames(listener):
                if stop.is_set():
                    break
                hand_over(frame)
        except Exception:
            logger.exception("The notification stream's listener failed.")
        finally:
            listener.close()
            hand_over(None)

    threading.Thread(target=pump, name="notification-stream", daemon=True).start()
    try:
        yield _OPENED
        while (frame := await queue.get()) is not None:
            yield frame
    finally:
        # Client gone (the server cancelled us) or listener failed: the pump thread
        # stops at its next event or keep-alive, at most one keep-alive period later.
        stop.set()


@extend_schema(tags=["notifications"])
class NotificationStreamView(APIMixin, APIView):
    """Server-sent events of the caller's notifications created from now on.

    Each event is ``event: notification`` with ``data`` a JSON object holding the
    notification's ``id``, ``kind`` and ``title``; a comment line is sent every
    ``NOTIFICATION_STREAM_KEEPALIVE`` seconds without one.
    """

    http_method_names = ["get", "options"]  # HEAD would never end

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # EventSource asks for text/event-stream only: errors are still answered in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="An endless stream of server-sent events."
            )
        }
    )
    def get(self, request: Request) -> HttpResponseBase | Response:
        channel = channel_name(Notification, "user", request.user.pk)
        # LISTEN runs before the response starts: nothing committed from now on is missed.
        listener = listen(channel, timeout=keepalive_seconds(), application_name=_APPLICATION_NAME)
        stream: Iterator[str] | AsyncIterator[str]
        if isinstance(request._request, ASGIRequest):
            stream = _asgi_stream(listener)
        else:
            stream = _WSGIStream(listener)
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
