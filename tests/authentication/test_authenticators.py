"""The DRF class and the middleware over HTTP: 200, 401 with WWW-Authenticate, never 500."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_supahybrid.testing import legacy_api_key, make_claims, mint_token
from tests.authentication.conftest import ISSUER, SECRET, Configure

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.support.auth_urls"),
    pytest.mark.usefixtures("configure"),
]


def _get(path: str, header: str | None = None) -> Any:
    client = APIClient()
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    return client.get(path, **extra)


def _token(**claims: Any) -> str:
    return mint_token(make_claims(issuer=ISSUER, **claims), secret=SECRET)


def test_valid_token_authenticates() -> None:
    sub = uuid.uuid4()
    response = _get("/private/", f"Bearer {_token(sub=sub)}")
    assert response.status_code == 200
    assert response.json() == {"user": str(sub), "sub": str(sub)}


def test_scheme_is_case_insensitive() -> None:
    assert _get("/private/", f"bearer {_token()}").status_code == 200


def test_missing_token_on_a_protected_view() -> None:
    response = _get("/private/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Token abc", ""])
def test_other_schemes_are_left_to_other_classes(header: str | None) -> None:
    response = _get("/optional/", header)
    assert response.status_code == 200
    assert response.json() == {"user": None, "sub": None}


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda: _token(lifetime=-3600), "expired"),
        (lambda: _token(nbf=2**40), "not_yet_valid"),
        (lambda: _token(aud="other"), "wrong_audience"),
        (lambda: _token(iss="https://evil.example/auth/v1"), "wrong_issuer"),
        (lambda: _token(role="service_role"), "wrong_role"),
        (lambda: _token(sub="nope"), "invalid_subject"),
        (lambda: mint_token(make_claims(issuer=ISSUER), secret="x" * 40), "bad_signature"),
        (lambda: legacy_api_key(SECRET, "service_role"), "api_key"),
        (lambda: "sb_secret_abcdef0123456789", "api_key"),
        (lambda: "abc.def", "malformed"),
    ],
)
def test_refused_tokens_answer_401_with_a_code(token: Any, code: str) -> None:
    value = token()
    response = _get("/optional/", f"Bearer {value}")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert value not in json.dumps(body)
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", error="invalid_token", error_description="{code}"'
    )


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Bearer a b"])
def test_malformed_header_is_invalid_request(header: str) -> None:
    response = _get("/optional/", header)
    assert response.status_code == 401
    assert response.json()["code"] == "malformed_header"
    assert 'error="invalid_request"' in response["WWW-Authenticate"]


def test_inactive_user_is_refused_with_401() -> None:
    from django.contrib.auth.models import User

    sub = uuid.uuid4()
    token = _token(sub=sub)
    assert _get("/private/", f"Bearer {token}").status_code == 200
    User.objects.filter(username=str(sub)).update(is_active=False)
    from django_supahybrid.authentication import token_cache as authcache

    authcache.clear_local()
    from django.core.cache import caches

    caches["default"].delete_pattern("*")
    response = _get("/private/", f"Bearer {token}")
    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def test_redis_down_still_answers_200(settings: Any, configure: Configure) -> None:
    from django_supahybrid.cache import cache_config
    from tests.authentication.test_token_cache import dead_redis_url

    settings.CACHES = {
        **settings.CACHES,
        "dead": cache_config(dead_redis_url(), socket_timeout=0.2, socket_connect_timeout=0.2),
    }
    configure(AUTH_CACHE="dead")
    token = _token()
    for _ in range(3):
        assert _get("/private/", f"Bearer {token}").status_code == 200


@pytest.fixture
def with_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django_supahybrid.authentication.SupabaseAuthenticationMiddleware",
    ]


@pytest.mark.usefixtures("with_middleware")
def test_middleware_sets_the_user_lazily_for_plain_views() -> None:
    sub = uuid.uuid4()
    response = _get("/plain/", f"Bearer {_token(sub=sub)}")
    assert response.json() == {"authenticated": True, "sub": str(sub)}
    refused = _get("/plain/", f"Bearer {_token(lifetime=-3600)}")
    assert refused.json() == {"authenticated": False, "sub": None}
    assert _get("/plain/", "Basic dXNlcjpwYXNz").json() == {"authenticated": False, "sub": None}
    assert _get("/plain/", "Bearer").json() == {"authenticated": False, "sub": None}


def test_plain_view_without_middleware_has_no_claims() -> None:
    assert _get("/plain/").json() == {"authenticated": False, "sub": None}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _resign(token: str, secret: str) -> str:
    _, body, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    return mint_token(claims, secret="k" * 32 + secret)  # long enough not to warn


_VALID = mint_token(
    make_claims(issuer=ISSUER, lifetime=7 * 86400), secret=SECRET
)  # minted once, for the longest lifetime accepted; signature checks ignore the settings

_headers = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(max_size=300).map(lambda s: "Bearer " + s),
    st.integers(0, len(_VALID)).map(lambda n: "Bearer " + _VALID[:n]),
    st.integers(0, len(_VALID) - 1).map(lambda n: "Bearer " + _VALID[:n] + "A" + _VALID[n + 1 :]),
    st.text(min_size=1, max_size=40).map(lambda s: "Bearer " + _resign(_VALID, s)),
    st.integers(10_000, 100_000).map(lambda n: "Bearer " + "A" * n),
    st.lists(st.text(max_size=60), min_size=3, max_size=3).map(
        lambda parts: (
            "Bearer " + ".".join(base64.urlsafe_b64encode(p.encode()).decode() for p in parts)
        )
    ),
)


@hsettings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(header=_headers)
def test_no_header_value_causes_a_500(header: str) -> None:
    response = _get("/optional/", header)
    assert response.status_code in (200, 401)
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith('Bearer realm="api"')
