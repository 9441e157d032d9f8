"""The JWKS cache: TTL, shared copy, refresh on unknown kid, cooldown, stale-on-error."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError

from django_supahybrid.authentication import jwks
from django_supahybrid.authentication.tokens import TokenError, verify_token
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token
from tests.authentication.conftest import ISSUER, SUPABASE_URL, Configure, reset_auth_state


def _token(key: SigningKey) -> str:
    return mint_token(make_claims(issuer=ISSUER), key=key)


def _age_keys(url: str, seconds: float) -> None:
    keyset = jwks._registry[url]
    assert keyset.snapshot is not None
    snap = keyset.snapshot
    keyset.snapshot = jwks.KeySnapshot(snap.keys, snap.raw, snap.fetched_at - seconds)


def _refused(token: str) -> str:
    with pytest.raises(TokenError) as info:
        verify_token(token)
    return info.value.code


def test_url_is_derived_explicit_or_off(configure: Configure) -> None:
    configure(JWKS_URL=None)
    assert jwks.jwks_url() == SUPABASE_URL + "/auth/v1/.well-known/jwks.json"
    configure(JWKS_URL="https://keys.example.com/jwks.json")
    assert jwks.jwks_url() == "https://keys.example.com/jwks.json"
    configure(JWKS_URL=False)
    assert jwks.jwks_url() is None
    assert jwks.get_signing_key("any") is None
    assert jwks.status() is None
    configure(JWKS_URL=None, SUPABASE_URL=None)
    assert jwks.jwks_url() is None


def test_keys_are_fetched_once_and_cached(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    for key in signing_keys.values():
        verify_token(_token(key))
        verify_token(_token(key))
    assert jwks_server.requests == 1


def test_other_processes_read_the_shared_copy(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    verify_token(_token(signing_keys["ES256"]))
    reset_auth_state()  # as if another worker process
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 1


def test_keys_expire_after_the_ttl(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, JWKS_CACHE_TTL=600, AUTH_CACHE=None)
    verify_token(_token(signing_keys["ES256"]))
    _age_keys(jwks_server.url, 601)
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2


def test_unknown_kid_refreshes_once_then_cools_down(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, JWKS_REFRESH_COOLDOWN=30)
    verify_token(_token(signing_keys["ES256"]))
    for _ in range(20):  # attacker-chosen kids
        assert _refused(_token(SigningKey.generate("ES256"))) == "unknown_key"
    assert jwks_server.requests == 1  # still inside the cooldown of the first fetch
    configure(JWKS_URL=jwks_server.url, JWKS_REFRESH_COOLDOWN=0)
    assert _refused(_token(SigningKey.generate("ES256"))) == "unknown_key"
    assert jwks_server.requests == 2


@pytest.fixture
def rotated_key(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> SigningKey:
    """A key published after the cache was filled, as in a rotation (no cooldown)."""
    configure(JWKS_URL=jwks_server.url, JWKS_REFRESH_COOLDOWN=0)
    verify_token(_token(signing_keys["ES256"]))
    standby = SigningKey.generate("RS256")
    jwks_server.keys.append(standby)
    return standby


def test_rotation_new_key_is_picked_up(jwks_server: JWKSServer, rotated_key: SigningKey) -> None:
    assert verify_token(_token(rotated_key)).role == "authenticated"
    assert jwks_server.requests == 2


def test_refresh_is_single_flight(jwks_server: JWKSServer, rotated_key: SigningKey) -> None:
    new_key = rotated_key
    jwks_server.delay = 0.3
    token = _token(new_key)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(verify_token(token).role)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["authenticated"] * 8
    assert jwks_server.requests == 2


def test_stale_keys_are_used_while_the_endpoint_fails(
    jwks_server: JWKSServer,
    signing_keys: dict[str, SigningKey],
    configure: Configure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure(JWKS_URL=jwks_server.url, JWKS_MAX_STALE=3600, JWKS_REFRESH_COOLDOWN=30)
    token = _token(signing_keys["ES256"])
    verify_token(token)
    jwks_server.status = 503
    _age_keys(jwks_server.url, 700)
    caches["default"].delete_pattern("*")
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        for _ in range(5):
            assert verify_token(token).role == "authenticated"
    assert jwks_server.requests == 2  # one failed attempt, then the cooldown
    [record] = caplog.records
    assert "keeping the last good keys" in record.getMessage()
    _age_keys(jwks_server.url, 3600)  # now past TTL + JWKS_MAX_STALE
    jwks._registry[jwks_server.url]._retry_after = 0.0
    assert _refused(token) == "unknown_key"


def test_fetch_timeout_is_bounded(
    jwks_server: JWKSServer,
    signing_keys: dict[str, SigningKey],
    configure: Configure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure(JWKS_URL=jwks_server.url, JWKS_FETCH_TIMEOUT=0.2)
    jwks_server.delay = 1.0
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        assert _refused(_token(signing_keys["ES256"])) == "unknown_key"
    assert time.monotonic() - started < 0.9
    assert "no usable keys" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    ("document", "status"),
    [("not json", 200), ({"nokeys": []}, 200), ({"keys": "x"}, 200), ({"keys": []}, 500)],
)
def test_bad_documents_are_errors(document: Any, status: int, configure: Configure) -> None:
    with JWKSServer() as server:
        server.document = lambda: document  # type: ignore[method-assign]
        server.status = status
        configure(JWKS_URL=server.url)
        with pytest.raises(jwks.JWKSError):
            jwks.refresh()


def test_non_json_body_is_an_error(configure: Configure) -> None:
    with JWKSServer() as server:
        server.body = b"<html>maintenance</html>"
        configure(JWKS_URL=server.url)
        with pytest.raises(jwks.JWKSError, match="not JSON"):
            jwks.refresh()


def test_broken_connections_are_errors(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client
    import urllib.request

    def cut(*args: Any, **kwargs: Any) -> Any:
        raise http.client.IncompleteRead(b'{"keys": [')

    configure(JWKS_URL="https://abcdefghijklmnop.supabase.co/auth/v1/.well-known/jwks.json")
    monkeypatch.setattr(urllib.request, "urlopen", cut)
    with pytest.raises(jwks.JWKSError, match="IncompleteRead"):
        jwks.refresh()


def test_deeply_nested_document_is_an_error(configure: Configure) -> None:
    with JWKSServer() as server:
        server.body = b"[" * 200_000 + b"]" * 200_000
        configure(JWKS_URL=server.url)
        with pytest.raises(jwks.JWKSError, match="not JSON"):
            jwks.refresh()


def test_oversized_document_is_an_error(configure: Configure) -> None:
    with JWKSServer() as server:
        server.document = lambda: {"keys": [], "pad": "x" * 1_000_001}  # type: ignore[method-assign]
        configure(JWKS_URL=server.url)
        with pytest.raises(jwks.JWKSError, match="larger than 1 MB"):
            jwks.refresh()


def test_only_asymmetric_verification_keys_are_kept(
    signing_keys: dict[str, SigningKey], configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    good = signing_keys["ES256"].public_jwk()
    entries = [
        good,
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0", "alg": "HS256"},
        {**signing_keys["RS256"].public_jwk(), "kid": "enc", "use": "enc"},
        {**signing_keys["RS256"].public_jwk(), "kid": "sign-only", "key_ops": ["sign"]},
        {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        "not a key",
    ]
    with JWKSServer(entries) as server:
        configure(JWKS_URL=server.url)
        with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
            snapshot = jwks.refresh()
    assert list(snapshot.keys) == [good["kid"]]
    assert "'broken'" in caplog.records[0].getMessage()


def test_non_http_url_is_refused(configure: Configure) -> None:
    configure(JWKS_URL="file:///etc/passwd")
    with pytest.raises(jwks.JWKSError, match="not an http"):
        jwks.refresh()


def test_refresh_and_purge_without_url(configure: Configure) -> None:
    with pytest.raises(jwks.JWKSError, match="no JWKS URL"):
        jwks.refresh()
    jwks.purge()  # nothing shared to forget
    assert jwks._registry == {}


def test_purge_forgets_both_copies(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    verify_token(_token(signing_keys["ES256"]))
    jwks.purge()
    assert jwks._registry == {}
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2


def test_shared_cache_down_falls_back_to_the_network(
    jwks_server: JWKSServer,
    signing_keys: dict[str, SigningKey],
    configure: Configure,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from django_supahybrid.cache import cache_config
    from tests.authentication.test_token_cache import dead_redis_url

    settings.CACHES = {
        **settings.CACHES,
        "dead": cache_config(dead_redis_url(), socket_timeout=0.2, socket_connect_timeout=0.2),
    }
    configure(JWKS_URL=jwks_server.url, AUTH_CACHE="dead")
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        assert verify_token(_token(signing_keys["ES256"])).role == "authenticated"
        jwks.purge()
    assert any("shared cache unavailable" in r.getMessage() for r in caplog.records)


def test_command_show_refresh_purge(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("supahybrid_jwks", "show")
    out = capsys.readouterr().out
    assert jwks_server.url in out
    for key in signing_keys.values():
        assert f"{key.kid}  {key.algorithm}" in out
    call_command("supahybrid_jwks", "refresh")
    assert jwks_server.requests == 2
    call_command("supahybrid_jwks", "purge")
    assert "Purged" in capsys.readouterr().out


def test_command_reports_problems(jwks_server: JWKSServer, configure: Configure) -> None:
    jwks_server.keys = []
    call_command("supahybrid_jwks", "show")  # an empty set is fine
    jwks.purge()
    jwks_server.status = 500
    with pytest.raises(CommandError, match="could not be fetched"):
        call_command("supahybrid_jwks", "show")
    with pytest.raises(CommandError, match="Could not fetch"):
        call_command("supahybrid_jwks", "refresh")
    configure(JWKS_URL=False)
    with pytest.raises(CommandError, match="No JWKS URL"):
        call_command("supahybrid_jwks", "show")


def test_command_show_empty_set(
    jwks_server: JWKSServer, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_server.keys = []
    call_command("supahybrid_jwks", "show")
    assert "legacy secret only" in capsys.readouterr().out
