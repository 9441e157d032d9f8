"""Helpers for tests: Supabase-shaped access tokens and a JWKS served on loopback.

```python
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token

key = SigningKey.generate("ES256")
with JWKSServer([key]) as server:  # SUPAHYBRID["JWKS_URL"] = server.url
    token = mint_token(make_claims(issuer=...), key=key)
```
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from django_supahybrid import _ratelimit
from django_supahybrid.authentication import jwks, token_cache
from django_supahybrid.conf import app_settings

__all__ = [
    "TEST_JWT_SECRET",
    "TEST_SUPABASE_URL",
    "JWKSServer",
    "SigningKey",
    "legacy_api_key",
    "make_claims",
    "mint_token",
    "reset_process_state",
]

#: A shared secret for tests only (at least 32 characters, as the checks require).
TEST_JWT_SECRET = "test-only-jwt-secret-with-more-than-32-characters"  # noqa: S105
#: A project URL of the shape Supabase gives; its issuer is ``TEST_SUPABASE_URL + "/auth/v1"``.
TEST_SUPABASE_URL = "https://abcdefghijklmnop.supabase.co"

Algorithm = Literal["ES256", "RS256", "EdDSA"]


def make_claims(
    sub: uuid.UUID | str | None = None,
    *,
    issuer: str | None = None,
    email: str = "user@example.com",
    phone: str = "",
    role: str = "authenticated",
    audience: str | list[str] = "authenticated",
    lifetime: int = 3600,
    issued_at: int | None = None,
    aal: str = "aal1",
    session_id: uuid.UUID | str | None = None,
    is_anonymous: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The claims Supabase Auth puts in a user access token, in its order.

    ``issuer`` defaults to ``<SUPABASE_URL>/auth/v1`` from the settings. ``extra`` adds or
    replaces claims (``client_id=...``, ``nbf=...``); a value of ``None`` removes one.
    """
    now = int(time.time()) if issued_at is None else issued_at
    if issuer is None:
        issuer = (app_settings().SUPABASE_URL or "http://127.0.0.1:54321").rstrip("/") + "/auth/v1"
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": str(sub or uuid.uuid4()),
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "email": email,
        "phone": phone,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"email": email, "email_verified": True, "sub": str(sub)},
        "role": role,
        "aal": aal,
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(session_id or uuid.uuid4()),
        "is_anonymous": is_anonymous,
    }
    claims["user_metadata"]["sub"] = claims["sub"]
    for name, value in extra.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """An asymmetric signing key like Supabase's (ES256 P-256, RS256 2048-bit, EdDSA)."""

    algorithm: Algorithm
    kid: str
    private_key: Any

    @classmethod
    def generate(cls, algorithm: Algorithm = "ES256", kid: str | None = None) -> SigningKey:
        """A new key pair with a random ``kid``."""
        private: Any
        if algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        return cls(algorithm, kid or str(uuid.uuid4()), private)

    def public_jwk(self) -> dict[str, Any]:
        """The public key as Supabase publishes it in its JWKS."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, Any] = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig", "key_ops": ["verify"]})
        return jwk


def mint_token(
    claims: dict[str, Any],
    *,
    secret: str | None = None,
    key: SigningKey | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """Sign ``claims`` with the HS256 ``secret`` (default: ``JWT_SECRET``) or ``key``."""
    if key is not None:
        header = {"kid": key.kid, **(headers or {})}
        return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=header)
    secret = secret or app_settings().JWT_SECRET
    if not secret:
        raise ValueError("no secret given and SUPAHYBRID['JWT_SECRET'] is not set")
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def legacy_api_key(secret: str, role: str = "anon", ref: str = "abcdefghijklmnop") -> str:
    """A legacy Supabase API key (``anon`` or ``service_role``): a JWT that is not a user's."""
    now = int(time.time())
    claims = {
        "iss": "supabase",
        "ref": ref,
        "role": role,
        "iat": now,
        "exp": now + 10 * 365 * 86400,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class JWKSServer:
    """Serve a JWKS on ``127.0.0.1`` from a thread, like ``<iss>/.well-known/jwks.json``.

    ``keys`` may be changed while it runs (rotation); ``status`` set to an HTTP error code,
    ``delay`` to seconds and ``body`` to raw bytes simulate an outage or a broken endpoint;
    ``requests`` counts the fetches.
    """

    path = "/auth/v1/.well-known/jwks.json"

    def __init__(self, keys: Iterable[SigningKey | dict[str, Any]] = ()) -> None:
        self.keys: list[SigningKey | dict[str, Any]] = list(keys)
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The JWKS address (``JWKS_URL``)."""
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def document(self) -> dict[str, Any]:
        """The JWKS document currently served."""
        return {"keys": [k.public_jwk() if isinstance(k, SigningKey) else k for k in self.keys]}

    def __enter__(self) -> JWKSServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                time.sleep(owner.delay)
                body = owner.body or json.dumps(owner.document()).encode()
                status = owner.status if self.path == owner.path else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None


def reset_process_state() -> None:
    """Forget what this process cached: tokens, signing keys, rate-limited warnings.

    The shared cache (Redis) is left alone; its entries are keyed by the settings, so a
    test with other settings never reads them.
    """
    token_cache.clear_local()
    token_cache.forget_shared_outage()
    jwks.forget_local()
    _ratelimit.reset()
