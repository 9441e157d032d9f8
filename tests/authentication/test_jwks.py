"""The JWKS cache: TTL, shared copy, refresh on unknown kid, cooldown, stale-on-error."""

from __future__ import annotations

import dataclasses
import json
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
from django_supahybrid.conf import app_settings
from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token
from tests.authentication.conftest import ISSUER, SUPABASE_URL, Configure, reset_auth_state
from tests.support.trickle import TrickleServer


def _token(key: SigningKey) -> str:
    return mint_token(make_claims(issuer=ISSUER), key=key)


def _age_keys(url: str, seconds: float) -> None:
    keyset = jwks._registry[url]
    assert keyset.snapshot is not None
    snap = keyset.snapshot
    keyset.snapshot = dataclasses.replace(snap, fetched_at=snap.fetched_at - seconds)


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


def test_broken_connections_are_errors(configure: Configure) -> None:
    with TrickleServer(b'{"keys": [', pieces=1) as server:
        server.content_length = 100  # announces more than it sends, then hangs up
        configure(JWKS_URL=server.url)
        with pytest.raises(jwks.JWKSError, match="IncompleteRead"):
            jwks.refresh()


def test_a_trickling_endpoint_is_cut_off_at_the_deadline(
    signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    # Each piece arrives well within the socket timeout; the whole answer would take 6 s.
    document = json.dumps({"keys": [signing_keys["ES256"].public_jwk()]}).encode()
    with TrickleServer(document, pieces=60, pause=0.1) as server:
        configure(JWKS_URL=server.url, JWKS_FETCH_TIMEOUT=0.5)
        with pytest.raises(jwks.JWKSError, match=r"no complete answer within 0\.5 s"):
            jwks.refresh()
        assert server.hung_up.wait(timeout=10)  # the client left before the end


def test_a_fetch_that_ends_in_time_is_not_cut_off(
    signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    document = json.dumps({"keys": [signing_keys["ES256"].public_jwk()]}).encode()
    with TrickleServer(document, pieces=5, pause=0.01) as server:
        configure(JWKS_URL=server.url, JWKS_FETCH_TIMEOUT=5.0)
        assert list(jwks.refresh().keys) == [signing_keys["ES256"].kid]
        assert not server.hung_up.is_set()


@pytest.mark.slow
def test_a_request_with_usable_keys_does_not_wait_for_another_threads_fetch(
    signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    key = signing_keys["ES256"]
    token = _token(key)
    document = json.dumps({"keys": [key.public_jwk()]}).encode()
    with TrickleServer(document, pieces=60, pause=0.0) as server:
        configure(JWKS_URL=server.url, JWKS_FETCH_TIMEOUT=5.0, AUTH_CACHE=None)
        verify_token(token)  # keys loaded at full speed
        _age_keys(server.url, 601)  # past their TTL: the next request refreshes them
        server.pause = 0.1  # from now on, a fetch takes 6 s (cut off at 5 s)
        server.connected.clear()
        results: list[str] = []

        def request() -> None:
            results.append(verify_token(token).role)

        fetching = threading.Thread(target=request)
        fetching.start()
        assert server.connected.wait(timeout=5)  # that thread's fetch is under way
        waiting = threading.Thread(target=request)
        waiting.start()
        waiting.join(timeout=3)
        assert not waiting.is_alive()  # answered with the last good keys, without waiting
        assert fetching.is_alive()  # while the fetch is still going on
        fetching.join(timeout=10)
    assert results == ["authenticated", "authenticated"]


def test_malformed_key_entries_are_skipped_with_a_warning(
    signing_keys: dict[str, SigningKey], configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    good = signing_keys["ES256"]
    odd = SigningKey.generate("ES256")
    entries = [
        {**odd.public_jwk(), "key_ops": None},
        {**signing_keys["RS256"].public_jwk(), "kid": "odd-use", "use": 5},
        {**signing_keys["EdDSA"].public_jwk(), "kid": "odd-ops", "key_ops": ["verify", 1]},
        {**signing_keys["RS256"].public_jwk(), "kid": 7},
        good.public_jwk(),
    ]
    with JWKSServer(entries) as server:
        configure(JWKS_URL=server.url, JWKS_REFRESH_COOLDOWN=30)
        with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
            assert verify_token(_token(good)).role == "authenticated"
            for _ in range(5):
                assert _refused(_token(odd)) == "unknown_key"  # a 401, not a 500
        assert server.requests == 1  # no refetch: the unknown kid waits for the cooldown
    messages = {record.getMessage() for record in caplog.records}
    assert f"Skipping JWKS key {odd.kid!r}: 'key_ops' is not a list of strings." in messages
    assert "Skipping JWKS key 'odd-use': 'kid' or 'use' is missing or not a string." in messages
    assert "Skipping JWKS key 'odd-ops': 'key_ops' is not a list of strings." in messages
    assert "Skipping JWKS key #3: 'kid' or 'use' is missing or not a string." in messages


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
    # Without a Content-Length the answer ends with the connection: read 1 MB at most.
    with TrickleServer(b" " * 1_000_001 + b'{"keys": []}', pieces=1) as trickle:
        trickle.content_length = None
        configure(JWKS_URL=trickle.url)
        with pytest.raises(jwks.JWKSError, match="larger than 1 MB"):
            jwks.refresh()
        trickle.body = b'{"keys": []}'
        assert jwks.refresh().keys == {}


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
    assert any("shared cache unavailable" in r.getMessage() for r in caplog.records)
    # A purge that cannot reach the other processes says so instead of pretending.
    with pytest.raises(jwks.JWKSError, match="could not be written"):
        jwks.purge()
    with pytest.raises(CommandError, match="Could not purge"):
        call_command("supahybrid_jwks", "purge")


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


def _purge_elsewhere() -> None:
    """What ``purge`` in another process leaves in the shared cache: a new epoch."""
    caches["default"].set(jwks.EPOCH_KEY, "purged-elsewhere", timeout=None)


def test_a_purge_elsewhere_drops_the_keys_within_the_window(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, AUTH_MAX_STALENESS=0.0)
    revoked, kept = signing_keys["ES256"], signing_keys["RS256"]
    verify_token(_token(revoked))
    jwks_server.keys = [kept]  # the key left the JWKS...
    assert verify_token(_token(revoked)).role == "authenticated"  # ...still fresh here
    _purge_elsewhere()
    assert _refused(_token(revoked)) == "unknown_key"
    assert verify_token(_token(kept)).role == "authenticated"
    assert jwks_server.requests == 2


def test_the_epoch_is_read_once_per_window(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, AUTH_MAX_STALENESS=3600.0)
    verify_token(_token(signing_keys["ES256"]))
    _purge_elsewhere()
    # Within the window the keys are kept (the token cache's own reads shorten it).
    assert verify_token(_token(signing_keys["ES256"])).role == "authenticated"
    jwks.observe_epoch(jwks.read_epoch(app_settings()), app_settings())
    jwks_server.keys = []
    assert _refused(_token(signing_keys["ES256"])) == "unknown_key"


def test_a_shared_copy_written_before_the_purge_is_ignored(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    verify_token(_token(signing_keys["ES256"]))  # the shared copy, under the old epoch
    _purge_elsewhere()
    reset_auth_state()  # as if another worker process
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2  # fetched again, not read from the stale copy
    reset_auth_state()
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2  # the new copy is shared


def test_purge_moves_the_epoch_and_the_command_says_what_it_did(
    jwks_server: JWKSServer, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = app_settings()
    assert jwks.read_epoch(conf) == jwks.NO_EPOCH
    call_command("supahybrid_jwks", "purge")
    first = jwks.read_epoch(conf)
    assert first not in (None, jwks.NO_EPOCH)
    assert caches["default"].ttl(jwks.EPOCH_KEY) is None  # never expires
    jwks.purge()
    assert jwks.read_epoch(conf) not in (first, None)
    assert "within AUTH_MAX_STALENESS seconds" in capsys.readouterr().out


def test_keys_loaded_while_the_shared_cache_was_down_are_reloaded_once_it_answers(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, AUTH_CACHE=None)
    verify_token(_token(signing_keys["ES256"]))
    assert jwks._registry[jwks_server.url].snapshot.epoch is None  # type: ignore[union-attr]
    configure(JWKS_URL=jwks_server.url, AUTH_MAX_STALENESS=0.0)
    verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2
    assert jwks._registry[jwks_server.url].snapshot.epoch == jwks.NO_EPOCH  # type: ignore[union-attr]


def test_odd_shared_copies_are_ignored(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey]
) -> None:
    key = jwks._shared_key(jwks_server.url)
    for odd in ({"raw": "x", "epoch": jwks.NO_EPOCH}, "written by another version"):
        caches["default"].set(key, odd)
        reset_auth_state()
        verify_token(_token(signing_keys["ES256"]))
    assert jwks_server.requests == 2


def test_urls_with_a_password_are_redacted(
    configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    assert jwks.redacted_url("https://u:hunter2@keys.example/j") == "https://u:***@keys.example/j"
    assert jwks.redacted_url("https://keys.example/j") == "https://keys.example/j"
    configure(JWKS_URL="http://u:hunter2@127.0.0.1:1/jwks.json")
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        assert jwks.get_signing_key("any") is None
    with pytest.raises(CommandError) as info:
        call_command("supahybrid_jwks", "refresh")
    assert "hunter2" not in str(info.value)
    assert caplog.records
    assert all("hunter2" not in r.getMessage() for r in caplog.records)


def test_without_a_shared_cache_purge_and_refresh_are_local(
    jwks_server: JWKSServer, signing_keys: dict[str, SigningKey], configure: Configure
) -> None:
    configure(JWKS_URL=jwks_server.url, AUTH_CACHE=None)
    assert jwks.refresh().epoch is None  # no epoch to read
    jwks.purge()
    assert jwks._registry == {}
    assert caches["default"].get(jwks.EPOCH_KEY) is None  # nothing shared was touched
    assert verify_token(_token(signing_keys["ES256"])).role == "authenticated"


def test_an_unreadable_epoch_keeps_the_keys_in_hand(
    jwks_server: JWKSServer,
    signing_keys: dict[str, SigningKey],
    configure: Configure,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from django_supahybrid.cache import cache_config
    from tests.authentication.test_token_cache import dead_redis_url

    verify_token(_token(signing_keys["ES256"]))  # keys loaded under the current epoch
    settings.CACHES = {
        **settings.CACHES,
        "dead": cache_config(dead_redis_url(), socket_timeout=0.2, socket_connect_timeout=0.2),
    }
    configure(JWKS_URL=jwks_server.url, AUTH_CACHE="dead", AUTH_MAX_STALENESS=0.0)
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        for _ in range(3):
            assert verify_token(_token(signing_keys["ES256"])).role == "authenticated"
    assert jwks_server.requests == 1  # Redis down is not a purge
    assert len(caplog.records) == 1  # and it is said once


def test_a_failed_shared_write_keeps_the_process_copy(
    jwks_server: JWKSServer,
    signing_keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.authentication.test_token_cache import CountingCache

    class FailingWrites(CountingCache):
        def set(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("redis went away")

    monkeypatch.setattr(jwks, "caches", {"default": FailingWrites(caches["default"])})
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.jwks"):
        assert verify_token(_token(signing_keys["ES256"])).role == "authenticated"
        assert verify_token(_token(signing_keys["RS256"])).role == "authenticated"
    assert jwks_server.requests == 1
    assert "ConnectionError" in caplog.records[0].getMessage()
