"""One HTTP GET with a total deadline, for the JWKS.

A socket timeout bounds each read, so a server that sends a byte now and then holds a
request for as long as it likes. Here a timer shuts the connection's sockets down when the
deadline passes, whatever stage the request is at, and the fetch fails. (Name resolution is
the one step no timeout of Python's bounds; it is the resolver's own.)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django_supahybrid._compat import socket_reporting_opener

__all__ = ["FetchError", "get"]


class FetchError(Exception):
    """The GET failed; the message says how (never with the body)."""


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: it wakes a read blocked in
    # another thread (a close would not), and leaves the TLS object to that thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadline:
    """Shuts down the sockets of one fetch when its time is up, unless it finished first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self.expired = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:  # a redirect opened after the deadline
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def finish(self) -> bool:
        """Stop the clock; whether the deadline had passed already."""
        with self._lock:
            self._done = True
            return self.expired


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"the document is larger than {max_bytes / 1e6:g} MB")


def _read(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    length = response.headers.get("Content-Length", "")
    if not length.isdigit():  # chunked or up to the end of the connection: bounded read
        return response.read(max_bytes + 1)
    if int(length) > max_bytes:
        raise _too_large(max_bytes)
    # Without a size, read() raises IncompleteRead when the connection ends early.
    return response.read()


def get(url: str, *, timeout: float, max_bytes: int, headers: dict[str, str]) -> bytes:
    """The body of ``GET url``, complete within ``timeout`` seconds and at most ``max_bytes``.

    Raises `FetchError` otherwise (HTTP error status, network error, too slow, too
    large, not an http(s) URL).
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("not an http(s) URL")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
    deadline = _Deadline()
    timer = threading.Timer(timeout, deadline.expire)
    timer.daemon = True
    timer.start()
    try:
        with socket_reporting_opener(deadline.watch).open(request, timeout=timeout) as response:
            body = _read(response, max_bytes)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise FetchError(f"HTTP {exc.code}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        if deadline.finish():
            raise FetchError(f"no complete answer within {timeout:g} s") from None
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    finally:
        timer.cancel()
    if deadline.finish():  # the body may have ended early because the socket was shut
        raise FetchError(f"no complete answer within {timeout:g} s")
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    return body
