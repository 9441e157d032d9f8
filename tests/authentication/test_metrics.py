"""The authentication cache and the JWKS fetcher feed the metrics registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from django_supahybrid.authentication import token_cache as authcache
from django_supahybrid.authentication.tokens import TokenError, verify_token
from django_supahybrid.monitoring import metrics
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token
from tests.authentication.conftest import ISSUER, Configure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("configure")]


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


def _auth_counters() -> dict[str, int]:
    return {k: v for k, v in metrics.snapshot().items() if k.startswith("auth.cache.")}


def test_each_cache_level_is_counted() -> None:
    token = mint_token(make_claims(uuid.uuid4(), issuer=ISSUER))
    authcache.authenticate_token(token)
    assert _auth_counters() == {metrics.AUTH_CACHE_MISS: 1}
    authcache.authenticate_token(token)
    authcache.authenticate_token(token)
    assert _auth_counters() == {metrics.AUTH_CACHE_MISS: 1, metrics.AUTH_CACHE_LOCAL_HIT: 2}
    authcache.clear_local()  # as if another worker process: Redis still has it
    authcache.authenticate_token(token)
    assert _auth_counters() == {
        metrics.AUTH_CACHE_LOCAL_HIT: 2,
        metrics.AUTH_CACHE_MISS: 1,
        metrics.AUTH_CACHE_SHARED_HIT: 1,
    }


def test_a_refused_token_is_a_miss() -> None:
    with pytest.raises(TokenError):
        authcache.authenticate_token(mint_token(make_claims(issuer=ISSUER), secret="x" * 40))
    assert _auth_counters() == {metrics.AUTH_CACHE_MISS: 1}


def test_jwks_fetches_and_failures_are_counted(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, JWKS_REFRESH_COOLDOWN=0)

    def token(key: SigningKey) -> str:
        return mint_token(make_claims(issuer=ISSUER), key=key)

    verify_token(token(signing_keys["ES256"]))
    verify_token(token(signing_keys["RS256"]))  # the same cached document
    assert metrics.snapshot() == {metrics.JWKS_FETCH: 1}
    unknown = SigningKey.generate("ES256")  # not served: one refresh, which fails
    jwks_server.status = 503
    with pytest.raises(TokenError):
        verify_token(token(unknown))
    assert metrics.snapshot() == {metrics.JWKS_FETCH: 2, metrics.JWKS_FAILURE: 1}
