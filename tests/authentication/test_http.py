"""The JWKS fetch itself: TLS verified as usual, and a deadline that cannot be outrun."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from django_supahybrid.authentication import _http


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Keys(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"keys": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Keys)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/jwks.json", cert
    server.shutdown()
    server.server_close()


def _get(url: str) -> bytes:
    return _http.get(url, timeout=5.0, max_bytes=1000, headers={})


def test_https_certificates_are_verified(
    https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = https_server
    with pytest.raises(_http.FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(url)  # a certificate no authority of the system signed
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now one the system trusts
    assert _get(url) == b'{"keys": []}'


def test_a_socket_opened_after_the_deadline_is_shut_at_once() -> None:
    deadline = _http._Deadline()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline.expire()
        deadline.watch(ours)  # a redirect followed after the time was up
        assert ours.recv(1) == b""  # shut down: reads end
        assert deadline.finish() is True


def test_a_finished_fetch_is_not_cut_off_late() -> None:
    deadline = _http._Deadline()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline.watch(ours)
        assert deadline.finish() is False
        deadline.expire()  # the timer fires just after the answer was read
        theirs.sendall(b"x")
        assert ours.recv(1) == b"x"  # left alone
        assert deadline.expired is False


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(_http.FetchError, match="not an http"):
        _get("file:///etc/passwd")
