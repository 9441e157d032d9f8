"""Any shape of token header and payload is a 200 or a 401 with a code, never a 500.

The tokens here are correctly signed (with the secret or a JWKS key) whatever their JSON
holds, so the checks after the signature see every odd shape too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_supahybrid.authentication.tokens import _MESSAGES
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims
from tests.authentication.conftest import ISSUER, SECRET, Configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.auth_urls")]

KEY = SigningKey.generate("ES256")
SUB = uuid.uuid4()
CLAIMS = [*make_claims(SUB, issuer=ISSUER), "nbf", "client_id", "jti", "scope"]


@pytest.fixture(autouse=True)
def jwks(configure: Configure) -> Iterator[JWKSServer]:
    odd = {**SigningKey.generate("RS256").public_jwk(), "key_ops": None}
    with JWKSServer([KEY, odd]) as server:
        configure(JWKS_URL=server.url, JWKS_REFRESH_COOLDOWN=3600)
        yield server


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(header: str, payload: str, signer: str) -> str:
    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}".encode()
    if signer == "secret":
        signature = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    elif signer == "key":
        signature = jwt.get_algorithm_by_name("ES256").sign(signing_input, KEY.private_key)
    else:
        signature = b"not a signature"
    return f"{signing_input.decode()}.{_b64(signature)}"


def _call(token: str) -> Any:
    return APIClient().get("/optional/", HTTP_AUTHORIZATION=f"Bearer {token}")


_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**1000),
    st.floats(),  # NaN and Infinity included: Python's json reads them
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=20))
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: JSON texts that json.dumps cannot produce: nesting past the recursion limit, huge integers.
_raw = st.one_of(
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(4000, 6000).map(lambda n: "1" + "0" * n),
)

_headers = st.one_of(
    st.sampled_from([{"alg": "HS256", "typ": "JWT"}, {"alg": "ES256", "kid": KEY.kid}]).map(
        json.dumps
    ),
    _json.map(json.dumps),
    _raw,
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["HS256", "ES256", "RS256", "EdDSA", "none"]) | _json},
        optional={
            "kid": st.sampled_from([KEY.kid, ""]) | _json,
            "typ": _json,
            "crit": _json,
            "b64": _json,
        },
    ).map(json.dumps),
)


def _payload(data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["claims", "any", "raw", "nested"]))
    if kind == "any":
        return json.dumps(data.draw(_json))
    if kind == "raw":
        return data.draw(_raw)
    claims = make_claims(SUB, issuer=ISSUER)
    claims.update(data.draw(st.dictionaries(st.sampled_from(CLAIMS), _json, max_size=3)))
    text = json.dumps(claims)
    if kind == "nested":  # a deeply nested or huge value inside otherwise good claims
        text = text[:-1] + ', "user_metadata": ' + data.draw(_raw) + "}"
    return text


@hsettings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(header=_headers, signer=st.sampled_from(["secret", "key", "none"]), data=st.data())
def test_any_json_header_and_payload_is_a_200_or_a_401(
    header: str, signer: str, data: st.DataObject
) -> None:
    response = _call(_sign(header, _payload(data), signer))
    assert response.status_code in (200, 401)
    if response.status_code == 401:
        assert response.json()["code"] in _MESSAGES


@pytest.mark.parametrize(
    ("header", "payload", "signer", "code"),
    [
        ('{"alg": ["HS256"]}', None, "secret", "malformed"),
        # Python 3.13's json parses this depth, 3.11's does not: malformed on both.
        ('{"alg": "HS256", "x": ' + "[" * 5000 + "]" * 5000 + "}", None, "secret", "malformed"),
        ('{"alg": "HS256"}', "[" * 5000 + "]" * 5000, "secret", "malformed"),
        # A claim a user can set (user_metadata) that pickle, and so the shared cache,
        # cannot hold on Python 3.13: refused before it gets there.
        (
            '{"alg": "HS256"}',
            json.dumps(make_claims(SUB, issuer=ISSUER))[:-1]
            + ', "user_metadata": {"x": '
            + "[" * 5000
            + "]" * 5000
            + "}}",
            "secret",
            "malformed",
        ),
        ('{"alg": "HS256"}', '{"exp": ' + "9" * 400 + "}", "secret", "malformed"),
        ('{"alg": "ES256", "kid": "' + KEY.kid + '"}', None, "key", None),
    ],
)
def test_shapes_from_the_security_review(
    header: str, payload: str | None, signer: str, code: str | None
) -> None:
    payload = payload or json.dumps(make_claims(SUB, issuer=ISSUER))
    response = _call(_sign(header, payload, signer))
    if code is None:  # the JWKS holds an entry with "key_ops": null: skipped, not a 500
        assert response.status_code == 200
        assert response.json()["sub"] == str(SUB)
    else:
        assert (response.status_code, response.json()["code"]) == (401, code)
