"""Every verification rule of the token module, each with a token that breaks it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from django_supahybrid.authentication.tokens import (
    MAX_TOKEN_LENGTH,
    SupabaseClaims,
    TokenError,
    expected_issuers,
    unverified_payload,
    verify_token,
)
from django_supahybrid.testing import (
    JWKSServer,
    SigningKey,
    legacy_api_key,
    make_claims,
    mint_token,
)
from tests.authentication.conftest import ISSUER, SECRET, Configure

pytestmark = pytest.mark.usefixtures("configure")


def _refused(token: str) -> str:
    with pytest.raises(TokenError) as info:
        verify_token(token)
    assert token not in str(info.value.message)
    return info.value.code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_raw_key(claims: dict[str, Any], key: bytes, **header: Any) -> str:
    # Signs by hand: PyJWT itself refuses to HMAC with a PEM key.
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def test_hs256_token_gives_typed_claims() -> None:
    sub = uuid.uuid4()
    session = uuid.uuid4()
    claims = make_claims(sub, issuer=ISSUER, session_id=session, aal="aal2")
    result = verify_token(mint_token(claims, secret=SECRET))
    assert isinstance(result, SupabaseClaims)
    assert result.sub == sub
    assert result.session_id == session
    assert (result.role, result.aal, result.email) == ("authenticated", "aal2", "user@example.com")
    assert result.is_anonymous is False
    assert result.app_metadata == {"provider": "email", "providers": ["email"]}
    assert result.client_id is None
    assert result.exp == claims["exp"]
    assert result.raw["user_metadata"]["sub"] == str(sub)


def test_optional_claims_may_be_absent_or_odd(configure: Configure) -> None:
    configure(JWT_ALLOW_OAUTH_CLIENTS=True)
    claims = make_claims(
        issuer=ISSUER, session_id=None, email=None, aal=None, app_metadata=None, client_id="c1"
    )
    claims.pop("session_id")
    claims["phone"] = 5
    result = verify_token(mint_token(claims, secret=SECRET))
    assert (result.session_id, result.email, result.phone, result.aal) == (None, "", "", None)
    assert result.app_metadata == {}
    assert result.client_id == "c1"


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA"])
def test_asymmetric_tokens_verify_with_the_jwks(
    algorithm: str, jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    key = signing_keys[algorithm]
    claims = make_claims(issuer=ISSUER)
    assert str(verify_token(mint_token(claims, key=key)).sub) == claims["sub"]


def test_secret_and_signing_keys_at_once(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    # A project migrating from the legacy secret to signing keys accepts both.
    hs = mint_token(make_claims(issuer=ISSUER), secret=SECRET, headers={"kid": "legacy-kid"})
    es = mint_token(make_claims(issuer=ISSUER), key=signing_keys["ES256"])
    assert verify_token(hs).role == verify_token(es).role == "authenticated"
    assert jwks_server.requests == 1  # the HS256 token never looked at the JWKS


def test_alg_none_is_refused() -> None:
    token = jwt.encode(make_claims(issuer=ISSUER), None, algorithm="none")
    assert _refused(token) == "unsupported_algorithm"


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_refused(algorithm: str) -> None:
    token = jwt.encode(make_claims(issuer=ISSUER), SECRET * 2, algorithm=algorithm)
    assert _refused(token) == "unsupported_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    key = signing_keys["RS256"]
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(key.public_jwk()).encode()
    claims = make_claims(issuer=ISSUER)
    for raw_key in (pem, jwk_text):
        token = _hs256_with_raw_key(claims, raw_key, kid=key.kid)
        assert _refused(token) == "bad_signature"
    configure(JWT_SECRET=None, JWKS_URL=jwks_server.url)
    assert _refused(_hs256_with_raw_key(claims, pem, kid=key.kid)) == "unsupported_algorithm"


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA"])
def test_damaged_asymmetric_signatures_are_refused(
    algorithm: str, jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    head, body, signature = mint_token(
        make_claims(issuer=ISSUER), key=signing_keys[algorithm]
    ).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    damaged = [
        raw[:-1],
        raw + b"\0",
        bytes([raw[0] ^ 1]) + raw[1:],
        b"",
        b"\0" * len(raw),
        b"\xff" * len(raw),
    ]
    for variant in damaged:
        token = f"{head}.{body}.{_b64(variant)}"
        assert _refused(token) in ("bad_signature", "malformed")


def test_the_key_decides_the_algorithm(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    # An RS256 token naming the ES256 key's kid: refused without trying.
    rsa_key = signing_keys["RS256"]
    token = jwt.encode(
        make_claims(issuer=ISSUER),
        rsa_key.private_key,
        algorithm="RS256",
        headers={"kid": signing_keys["ES256"].kid},
    )
    assert _refused(token) == "unsupported_algorithm"


def test_unknown_or_missing_kid(jwks_server: JWKSServer) -> None:
    stranger = SigningKey.generate("ES256")
    assert _refused(mint_token(make_claims(issuer=ISSUER), key=stranger)) == "unknown_key"
    token = jwt.encode(make_claims(issuer=ISSUER), stranger.private_key, algorithm="ES256")
    assert _refused(token) == "unknown_key"


def test_asymmetric_token_without_jwks_is_refused(signing_keys: dict[str, SigningKey]) -> None:
    assert _refused(mint_token(make_claims(issuer=ISSUER), key=signing_keys["ES256"])) == (
        "unknown_key"
    )


def test_hs256_without_a_secret_is_refused(configure: Configure) -> None:
    configure(JWT_SECRET=None)
    assert _refused(mint_token(make_claims(issuer=ISSUER), secret=SECRET)) == (
        "unsupported_algorithm"
    )


def test_bad_signature() -> None:
    assert _refused(mint_token(make_claims(issuer=ISSUER), secret=SECRET + "x")) == "bad_signature"
    head, body, signature = mint_token(make_claims(issuer=ISSUER), secret=SECRET).split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged["role"] = "service_role"
    tampered = f"{head}.{_b64(json.dumps(forged).encode())}.{signature}"
    assert _refused(tampered) == "bad_signature"


def test_exp_is_required() -> None:
    assert _refused(mint_token(make_claims(issuer=ISSUER, exp=None), secret=SECRET)) == "malformed"
    token = mint_token(make_claims(issuer=ISSUER, exp="soon"), secret=SECRET)
    assert _refused(token) == "malformed"


def test_expired_with_leeway(configure: Configure) -> None:
    configure(JWT_LEEWAY=10)
    now = int(time.time())
    late = make_claims(issuer=ISSUER, issued_at=now - 3605)  # expired 5 s ago
    assert verify_token(mint_token(late, secret=SECRET)).sub
    old = make_claims(issuer=ISSUER, issued_at=now - 3700)
    assert _refused(mint_token(old, secret=SECRET)) == "expired"
    configure(JWT_LEEWAY=0)
    assert _refused(mint_token(late, secret=SECRET)) == "expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_with_leeway(claim: str) -> None:
    now = int(time.time())
    soon = make_claims(issuer=ISSUER, **{claim: now + 5})
    assert verify_token(mint_token(soon, secret=SECRET)).sub
    later = make_claims(issuer=ISSUER, **{claim: now + 120})
    assert _refused(mint_token(later, secret=SECRET)) == "not_yet_valid"


@pytest.mark.parametrize(
    ("audience", "configured", "accepted"),
    [
        ("authenticated", "authenticated", True),
        (["authenticated", "other"], "authenticated", True),
        (["other"], "authenticated", False),
        ("anon", "authenticated", False),
        ("mobile", ["web", "mobile"], True),
        (None, "authenticated", False),
        (42, "authenticated", False),
    ],
)
def test_audience(audience: Any, configured: Any, accepted: bool, configure: Configure) -> None:
    configure(JWT_AUDIENCE=configured)
    token = mint_token(make_claims(issuer=ISSUER, aud=audience), secret=SECRET)
    if accepted:
        assert verify_token(token).sub
    else:
        assert _refused(token) == "wrong_audience"


def test_issuer_is_derived_from_the_project_url() -> None:
    other = make_claims(issuer="https://otherproject.supabase.co/auth/v1")
    assert _refused(mint_token(other, secret=SECRET)) == "wrong_issuer"
    assert _refused(mint_token(make_claims(issuer=ISSUER, iss=None), secret=SECRET)) == (
        "wrong_issuer"
    )


def test_issuer_list_and_explicit_off(configure: Configure) -> None:
    local = "http://127.0.0.1:54321/auth/v1"
    token = mint_token(make_claims(issuer=local), secret=SECRET)
    configure(JWT_ISSUER=[ISSUER, local])
    assert verify_token(token).sub
    configure(JWT_ISSUER=local)
    assert verify_token(token).sub
    configure(JWT_ISSUER=False)
    assert verify_token(mint_token(make_claims(issuer="anything"), secret=SECRET)).sub


def test_issuer_without_project_url_refuses(configure: Configure) -> None:
    configure(SUPABASE_URL=None)
    assert _refused(mint_token(make_claims(issuer=ISSUER), secret=SECRET)) == "wrong_issuer"


def test_expected_issuers() -> None:
    from django_supahybrid.conf import app_settings

    assert expected_issuers(app_settings()) == [ISSUER]


@pytest.mark.parametrize("sub", [None, "", "not-a-uuid", 12, "x" * 36, str(uuid.uuid4()) + "0"])
def test_subject_must_be_a_uuid(sub: Any) -> None:
    claims = make_claims(issuer=ISSUER)
    if sub is None:
        del claims["sub"]
    else:
        claims["sub"] = sub
    assert _refused(mint_token(claims, secret=SECRET)) in ("invalid_subject", "malformed")


def test_session_id_must_be_a_uuid() -> None:
    token = mint_token(make_claims(issuer=ISSUER, session_id="nope"), secret=SECRET)
    assert _refused(token) == "malformed"


@pytest.mark.parametrize("role", ["anon", "service_role", "postgres", None])
def test_role_must_be_authenticated(role: str | None) -> None:
    token = mint_token(make_claims(issuer=ISSUER, role=role), secret=SECRET)
    assert _refused(token) == "wrong_role"


def test_allowed_roles_setting(configure: Configure) -> None:
    configure(JWT_ALLOWED_ROLES=["authenticated", "editor"])
    assert verify_token(mint_token(make_claims(issuer=ISSUER, role="editor"), secret=SECRET))


def test_anonymous_users_setting(configure: Configure) -> None:
    token = mint_token(make_claims(issuer=ISSUER, is_anonymous=True, email=""), secret=SECRET)
    assert verify_token(token).is_anonymous is True
    configure(JWT_ALLOW_ANONYMOUS_USERS=False)
    assert _refused(token) == "anonymous_not_allowed"


def test_oauth_client_tokens_are_refused_unless_allowed(configure: Configure) -> None:
    claims = make_claims(issuer=ISSUER, client_id="9a1b", scope="openid email")
    token = mint_token(claims, secret=SECRET)
    assert _refused(token) == "oauth_client_not_allowed"  # the default
    assert verify_token(mint_token(make_claims(issuer=ISSUER), secret=SECRET))
    configure(JWT_ALLOW_OAUTH_CLIENTS=True)
    assert verify_token(token).client_id == "9a1b"


def test_lifetime_is_bounded(configure: Configure) -> None:
    week = 7 * 86400
    assert verify_token(mint_token(make_claims(issuer=ISSUER, lifetime=week), secret=SECRET))
    long_lived = mint_token(make_claims(issuer=ISSUER, lifetime=week + 1), secret=SECRET)
    assert _refused(long_lived) == "lifetime_too_long"
    # Without iat, the lifetime left counts.
    no_iat = make_claims(issuer=ISSUER, lifetime=week + 60, iat=None)
    assert _refused(mint_token(no_iat, secret=SECRET)) == "lifetime_too_long"
    no_iat = make_claims(issuer=ISSUER, lifetime=week - 60, iat=None)
    assert verify_token(mint_token(no_iat, secret=SECRET))
    # Issued long ago, expiring soon: still a token that lived too long.
    old = make_claims(issuer=ISSUER, issued_at=int(time.time()) - week, lifetime=week + 3600)
    assert _refused(mint_token(old, secret=SECRET)) == "lifetime_too_long"
    configure(JWT_MAX_LIFETIME=3600)
    assert _refused(mint_token(make_claims(issuer=ISSUER, lifetime=3601), secret=SECRET)) == (
        "lifetime_too_long"
    )


def _signed(header: str, payload: str) -> str:
    """An HS256 token over the raw JSON texts given, correctly signed with the secret."""
    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": ["HS256"]},
        {"alg": {"HS256": True}},
        {"alg": 256},
        {"alg": None},
        {"alg": "HS256", "kid": ["k"]},
        {"alg": "ES256", "kid": {"k": 1}},
        {"alg": "HS256", "crit": [1]},
        {"alg": "HS256", "b64": False},
    ],
)
def test_odd_header_values_are_refused(header: dict[str, Any]) -> None:
    token = _signed(json.dumps(header), json.dumps(make_claims(issuer=ISSUER)))
    assert _refused(token) in ("malformed", "unsupported_algorithm")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "9999999999"),
        ("exp", True),
        ("exp", 10**400),
        ("exp", -1),
        ("exp", [1]),
        ("iat", "now"),
        ("iat", 2**60),
        ("nbf", {"t": 1}),
        ("role", ["authenticated"]),
        ("iss", [ISSUER]),
        ("sub", 12),
        ("session_id", 5),
        ("aal", ["aal2"]),
        ("client_id", {"id": 1}),
    ],
)
def test_claims_of_the_wrong_type_are_malformed(claim: str, value: Any) -> None:
    payload = json.dumps({**make_claims(issuer=ISSUER), claim: value})
    assert _refused(_signed('{"alg":"HS256","typ":"JWT"}', payload)) == "malformed"


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_times_are_malformed(text: str) -> None:
    claims = make_claims(issuer=ISSUER)
    payload = json.dumps(claims).replace(f'"exp": {claims["exp"]}', f'"exp": {text}')
    assert text in payload
    assert _refused(_signed('{"alg":"HS256"}', payload)) == "malformed"


@pytest.mark.parametrize("part", ["header", "payload"])
def test_deeply_nested_json_is_malformed(part: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    header, payload = '{"alg":"HS256"}', json.dumps(make_claims(issuer=ISSUER))
    if part == "header":
        header = '{"alg":"HS256","x":' + deep + "}"
    else:
        payload = payload[:-1] + ', "x": ' + deep + "}"
    token = _signed(header, payload)
    assert len(token) < MAX_TOKEN_LENGTH
    assert _refused(token) == "malformed"
    with pytest.raises(TokenError):
        unverified_payload(token)


@pytest.mark.parametrize("part", ["header", "payload"])
@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"a":', "}")])
def test_json_up_to_100_levels_deep_is_read_deeper_is_malformed(
    part: str, opener: str, closer: str
) -> None:
    # The same on every Python (3.13's json parses any depth, 3.11's stops near 1,000).
    # The outer object is the first level: "x" adds 99 more, then 100.
    def token(levels: int) -> str:
        deep = opener * levels + "1" + closer * levels
        header, payload = '{"alg":"HS256"}', json.dumps(make_claims(issuer=ISSUER))
        if part == "header":
            header = '{"alg":"HS256","x":' + deep + "}"
        else:
            payload = payload[:-1] + ', "x": ' + deep + "}"
        return _signed(header, payload)

    assert verify_token(token(99)).sub
    assert _refused(token(100)) == "malformed"
    with pytest.raises(TokenError):
        unverified_payload(token(100))


def test_many_shallow_brackets_are_not_depth() -> None:
    claims = {**make_claims(issuer=ISSUER), "x": [[]] * 150, "y": "[{" * 150}
    token = _signed('{"alg":"HS256"}', json.dumps(claims))
    assert verify_token(token).raw["x"] == [[]] * 150


def test_minimum_aal(configure: Configure) -> None:
    configure(JWT_MIN_AAL="aal2")
    assert verify_token(mint_token(make_claims(issuer=ISSUER, aal="aal2"), secret=SECRET))
    for aal in ("aal1", None, "bogus"):
        token = mint_token(make_claims(issuer=ISSUER, aal=aal), secret=SECRET)
        assert _refused(token) == "insufficient_aal"


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_legacy_api_keys_are_refused(role: str, configure: Configure) -> None:
    assert _refused(legacy_api_key(SECRET, role=role)) == "api_key"
    configure(JWT_SECRET=None)  # refused with the same reason without the secret
    assert _refused(legacy_api_key(SECRET, role=role)) == "api_key"


@pytest.mark.parametrize("prefix", ["sb_publishable_", "sb_secret_"])
def test_new_api_keys_are_refused(prefix: str) -> None:
    assert _refused(prefix + "Ab3dE5gHiJ_kLmNoPqRsTuVw") == "api_key"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "!!!.???.sig",
        _b64(b"[1]") + "." + _b64(b"{}") + ".sig",
        _b64(b'{"alg":"HS256"}') + "." + _b64(b"not json") + ".sig",
        "é.é.é",
        "a" * (MAX_TOKEN_LENGTH + 1),
        _b64(b"{}") + "." + _b64(b"{}") + ".sig",
    ],
)
def test_malformed_tokens(token: str) -> None:
    assert _refused(token) in ("malformed", "unsupported_algorithm")


def test_bad_signature_encoding_is_malformed() -> None:
    head, body, _ = mint_token(make_claims(issuer=ISSUER), secret=SECRET).split(".")
    assert _refused(f"{head}.{body}.@@@") == "malformed"


def test_unverified_payload() -> None:
    claims = make_claims(issuer=ISSUER)
    assert unverified_payload(mint_token(claims, secret=SECRET)) == claims


def test_make_claims_is_supabase_shaped() -> None:
    claims = make_claims(issuer=ISSUER)
    assert list(claims) == [
        "iss", "sub", "aud", "exp", "iat", "email", "phone", "app_metadata",
        "user_metadata", "role", "aal", "amr", "session_id", "is_anonymous",
    ]  # fmt: skip
    assert claims["exp"] - claims["iat"] == 3600


def test_make_claims_default_issuer(configure: Configure) -> None:
    assert make_claims()["iss"] == ISSUER
    configure(SUPABASE_URL=None)
    assert make_claims()["iss"] == "http://127.0.0.1:54321/auth/v1"


def test_mint_token_defaults_to_the_configured_secret(configure: Configure) -> None:
    assert verify_token(mint_token(make_claims())).sub
    configure(JWT_SECRET=None)
    with pytest.raises(ValueError, match="JWT_SECRET"):
        mint_token(make_claims())
