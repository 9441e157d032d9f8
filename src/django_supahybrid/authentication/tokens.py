"""Verifying a Supabase access token: keys, algorithms and claims.

Two signing systems can be live at once while a project migrates: the legacy shared secret
(HS256) and asymmetric signing keys (ES256, RS256, EdDSA) published as a JWKS. A token is
routed by its header: HS256 goes to the secret, anything else to the JWKS key named by
``kid``, and the algorithm accepted is the one of that key, never the token's say-so
(https://supabase.com/docs/guides/auth/signing-keys).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from django_supahybrid.authentication import jwks
from django_supahybrid.conf import SupaHybridSettings, app_settings

__all__ = [
    "MAX_TOKEN_LENGTH",
    "SupabaseClaims",
    "TokenError",
    "expected_issuers",
    "unverified_payload",
    "verify_token",
]

#: Longer bearer values are refused before any parsing (a Supabase token is ~1 KB).
MAX_TOKEN_LENGTH = 16_384

_ASYMMETRIC = frozenset({"ES256", "RS256", "EdDSA"})
#: Claims that hold a time (RFC 7519 NumericDate): a finite number, not a bool, and small
#: enough that arithmetic on it stays exact and never overflows.
_DATE_CLAIMS = ("exp", "iat", "nbf")
_MAX_DATE = 2**53
#: Claims that decide something: a string when present (``null`` counts as absent).
_STRING_CLAIMS = ("iss", "sub", "role", "session_id", "aal", "client_id")
_API_KEY_PREFIXES = ("sb_publishable_", "sb_secret_")
#: Deeper JSON is malformed on every Python: 3.11's json gives up near 1,000 levels,
#: 3.13's parses any depth, and pickle (the shared cache) fails a few thousand deep.
_MAX_JSON_DEPTH = 100
_AAL = re.compile(r"aal(\d)")

_MESSAGES: dict[str, Promise] = {
    "malformed": _("Malformed token."),
    "malformed_header": _("Malformed Authorization header."),
    "api_key": _("A Supabase API key is not a user access token."),
    "unsupported_algorithm": _("Token algorithm not accepted."),
    "unknown_key": _("Token signing key not recognised."),
    "bad_signature": _("Token signature is invalid."),
    "expired": _("Token has expired."),
    "lifetime_too_long": _("Token lifetime is longer than accepted."),
    "not_yet_valid": _("Token is not valid yet."),
    "wrong_audience": _("Token audience not accepted."),
    "wrong_issuer": _("Token issuer not accepted."),
    "wrong_role": _("Token role not accepted."),
    "invalid_subject": _("Token subject is not a user id."),
    "anonymous_not_allowed": _("Anonymous users are not accepted."),
    "oauth_client_not_allowed": _("OAuth client tokens are not accepted."),
    "insufficient_aal": _("Multi-factor authentication required."),
    "user_inactive": _("User inactive or deleted."),
    "unknown_user": _("User not found."),
    "session_revoked": _("Session has ended."),
}


class TokenError(Exception):
    """A token was refused. ``code`` is machine-readable, ``message`` short and translatable.

    Neither ever contains the token or any key material.
    """

    def __init__(self, code: str) -> None:
        self.code = code
        self.message = _MESSAGES[code]
        super().__init__(code)


@dataclasses.dataclass(frozen=True)
class SupabaseClaims:
    """The verified claims of a Supabase access token (``request.auth``).

    Use ``app_metadata`` (only the service role can change it) or your database for
    authorisation, never ``user_metadata``: the user edits that one. Every claim, including
    ``user_metadata``, stays available in ``raw``.
    """

    sub: uuid.UUID
    role: str
    email: str
    phone: str
    aal: str | None
    session_id: uuid.UUID | None
    is_anonymous: bool
    app_metadata: dict[str, Any]
    exp: int
    client_id: str | None
    raw: dict[str, Any]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SupabaseClaims:
        """Build the claims object from a payload whose signature and claims were checked."""
        app_metadata = payload.get("app_metadata")
        client_id = payload.get("client_id")
        return cls(
            sub=_uuid(payload.get("sub"), "invalid_subject"),
            role=str(payload.get("role", "")),
            email=_str(payload.get("email")),
            phone=_str(payload.get("phone")),
            aal=payload.get("aal") if isinstance(payload.get("aal"), str) else None,
            session_id=(
                _uuid(payload["session_id"], "malformed") if payload.get("session_id") else None
            ),
            is_anonymous=payload.get("is_anonymous") is True,
            app_metadata=app_metadata if isinstance(app_metadata, dict) else {},
            exp=int(payload["exp"]),
            client_id=client_id if isinstance(client_id, str) else None,
            raw=payload,
        )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _uuid(value: object, code: str) -> uuid.UUID:
    if isinstance(value, str) and len(value) == 36:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise TokenError(code)


def _b64json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's recursion limit.
        raise TokenError("malformed") from None
    if not isinstance(value, dict):
        raise TokenError("malformed")
    # Each level opens a bracket: fewer brackets than the limit need no walk.
    if raw.count(b"[") + raw.count(b"{") > _MAX_JSON_DEPTH and _depth(value) > _MAX_JSON_DEPTH:
        raise TokenError("malformed")
    return value


def _depth(value: object) -> int:
    """How many arrays and objects deep ``value`` nests (1 for a flat object)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if token.startswith(_API_KEY_PREFIXES):
        raise TokenError("api_key")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    return _b64json(parts[0]), _b64json(parts[1])


def unverified_payload(token: str) -> dict[str, Any]:
    """The payload of ``token`` without any check: for routing and cache keys only."""
    return _split(token)[1]


def expected_issuers(conf: SupaHybridSettings) -> list[str] | None:
    """The accepted ``iss`` values, or ``None`` when the check is explicitly turned off."""
    if conf.JWT_ISSUER is False:
        return None
    if conf.JWT_ISSUER is not None:
        return [conf.JWT_ISSUER] if isinstance(conf.JWT_ISSUER, str) else list(conf.JWT_ISSUER)
    if conf.SUPABASE_URL:
        return [conf.SUPABASE_URL.rstrip("/") + "/auth/v1"]
    return []


def _is_date(value: object) -> bool:
    # The comparison also refuses inf and NaN, without converting a huge int to a float.
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= _MAX_DATE
    )


def _check_types(header: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
    """Refuse, as ``malformed``, a header or claim of a type the checks cannot use."""
    for name in ("alg", "kid"):
        if name in header and not isinstance(header[name], str):
            raise TokenError("malformed")
    for name in _DATE_CLAIMS:
        if name in payload and not _is_date(payload[name]):
            raise TokenError("malformed")
    for name in _STRING_CLAIMS:
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise TokenError("malformed")


def _select_key(header: dict[str, Any], conf: SupaHybridSettings) -> tuple[Any, str]:
    alg = header.get("alg")
    if alg == "HS256":
        if not conf.JWT_SECRET:
            raise TokenError("unsupported_algorithm")
        return conf.JWT_SECRET, "HS256"
    if alg not in _ASYMMETRIC:
        raise TokenError("unsupported_algorithm")
    kid = header.get("kid")
    key = jwks.get_signing_key(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise TokenError("unknown_key")
    if key.algorithm_name != alg:
        # The key decides: an RS256 key never verifies an ES256 token, and vice versa.
        raise TokenError("unsupported_algorithm")
    return key.key, key.algorithm_name


_PYJWT_ERRORS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidKeyError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm"),
]


def _decode(token: str, key: Any, algorithm: str, leeway: int) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=leeway,
            options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        for kind, code in _PYJWT_ERRORS:
            if isinstance(exc, kind):
                raise TokenError(code) from None
        raise TokenError("malformed") from None


def _is_legacy_api_key(payload: Mapping[str, Any]) -> bool:
    # Legacy anon / service_role keys: {"iss": "supabase", "ref": ..., "role": ...}, no sub.
    return (
        payload.get("iss") == "supabase"
        and "sub" not in payload
        and payload.get("role") in ("anon", "service_role")
    )


def _check_audience(payload: Mapping[str, Any], conf: SupaHybridSettings) -> None:
    aud = payload.get("aud")
    token_auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    wanted = [conf.JWT_AUDIENCE] if isinstance(conf.JWT_AUDIENCE, str) else conf.JWT_AUDIENCE
    if not any(a in token_auds for a in wanted):
        raise TokenError("wrong_audience")


def _aal_level(aal: str | None) -> int:
    match = _AAL.fullmatch(aal or "")
    return int(match.group(1)) if match else 0


def _check_lifetime(payload: Mapping[str, Any], conf: SupaHybridSettings) -> None:
    # Supabase issues access tokens for at most a week; a longer one was not issued the
    # usual way (a leaked secret or key signing tokens that outlive any rotation).
    issued_at = payload.get("iat")
    start = time.time() if issued_at is None else issued_at
    if payload["exp"] - start > conf.JWT_MAX_LIFETIME:
        raise TokenError("lifetime_too_long")


def _check_claims(claims: SupabaseClaims, conf: SupaHybridSettings) -> None:
    _check_lifetime(claims.raw, conf)
    issuers = expected_issuers(conf)
    if issuers is not None and claims.raw.get("iss") not in issuers:
        raise TokenError("wrong_issuer")
    _check_audience(claims.raw, conf)
    if claims.role not in conf.JWT_ALLOWED_ROLES:
        raise TokenError("wrong_role")
    if claims.is_anonymous and not conf.JWT_ALLOW_ANONYMOUS_USERS:
        raise TokenError("anonymous_not_allowed")
    if "client_id" in claims.raw and not conf.JWT_ALLOW_OAUTH_CLIENTS:
        raise TokenError("oauth_client_not_allowed")
    if conf.JWT_MIN_AAL and _aal_level(claims.aal) < _aal_level(conf.JWT_MIN_AAL):
        raise TokenError("insufficient_aal")


def verify_token(token: str) -> SupabaseClaims:
    """Verify a Supabase access token's signature and claims; return its claims.

    Raises `TokenError` with a specific ``code`` when the token is refused.
    """
    conf = app_settings()
    header, payload = _split(token)
    if _is_legacy_api_key(payload):
        raise TokenError("api_key")
    _check_types(header, payload)
    key, algorithm = _select_key(header, conf)
    claims = SupabaseClaims.from_payload(_decode(token, key, algorithm, conf.JWT_LEEWAY))
    _check_claims(claims, conf)
    return claims
