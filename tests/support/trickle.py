"""An HTTP server on loopback that answers slowly, a few bytes at a time, or cuts off."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TrickleServer:
    """Answers every GET with ``body``, split in ``pieces`` sent ``pause`` seconds apart.

    The whole answer is trickled, status line and headers included, so that no single read
    of the client waits long. ``content_length`` overrides the announced length (a larger
    one makes a connection that ends early; ``None`` leaves the header out, so the answer
    ends with the connection). ``connected`` is set when a request arrives,
    ``hung_up`` when the client went away before the answer was complete.
    """

    def __init__(self, body: bytes, *, pieces: int = 40, pause: float = 0.0) -> None:
        self.body = body
        self.pieces = pieces
        self.pause = pause
        self.content_length: int | None = len(body)
        self.connected = threading.Event()
        self.hung_up = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/auth/v1/.well-known/jwks.json"

    def _answer(self) -> bytes:
        length = "" if self.content_length is None else f"Content-Length: {self.content_length}\r\n"
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"{length}Connection: close\r\n\r\n"
        )
        return head.encode() + self.body

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.connected.set()
            answer = self._answer()
            size = -(-len(answer) // self.pieces)
            try:
                for start in range(0, len(answer), size):
                    conn.sendall(answer[start : start + size])
                    time.sleep(self.pause)
            except OSError:
                self.hung_up.set()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def __enter__(self) -> TrickleServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
