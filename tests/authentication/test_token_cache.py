"""The two-level token cache: queries per level, TTL, invalidation, Redis outages."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_supahybrid.authentication import token_cache as authcache
from django_supahybrid.authentication.tokens import TokenError
from django_supahybrid.cache import cache_config
from django_supahybrid.conf import app_settings
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token
from tests.authentication.conftest import ISSUER, SECRET, Configure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("configure")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_redis_url() -> str:
    """A Redis URL on a loopback port nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


class CountingCache:
    """Wraps a cache and counts the calls that reach it."""

    _ignore_exceptions = False  # so the library uses this wrapper, not the client behind

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cache, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingCache:
    counter = CountingCache(caches["default"])
    monkeypatch.setattr(authcache, "caches", {"default": counter})
    return counter


def _user(sub: uuid.UUID | None = None, **fields: Any) -> tuple[User, uuid.UUID]:
    sub = sub or uuid.uuid4()
    user = User.objects.create(username=str(sub), **fields)
    SupabaseIdentity.objects.create(user=user, sub=sub)
    return user, sub


def _token(sub: uuid.UUID, **claims: Any) -> str:
    return mint_token(make_claims(sub, issuer=ISSUER, **claims), secret=SECRET)


def test_miss_costs_one_query_then_hits_cost_none(counting: CountingCache) -> None:
    user, sub = _user()
    token = _token(sub)
    with CaptureQueriesContext(connection) as queries:
        first, claims = authcache.authenticate_token(token)
    assert len(queries) == 1
    assert first.pk == user.pk
    assert claims.sub == sub
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            again, _ = authcache.authenticate_token(token)
    assert len(queries) == 0
    assert counting.calls == calls  # a per-process hit makes no network round trip
    assert again.pk == user.pk


def test_shared_hit_costs_no_query(counting: CountingCache) -> None:
    user, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    authcache.clear_local()  # as if another process
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        again, claims = authcache.authenticate_token(token)
    assert len(queries) == 0
    assert counting.calls == calls + 1  # one MGET: entry and generation
    assert again.pk == user.pk
    assert claims.sub == sub


def test_the_key_is_the_full_sha256_of_the_token() -> None:
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    key = authcache.token_key(token)
    assert len(key.rsplit(":", 1)[1]) == 64
    assert token not in key
    assert caches["default"].get(key) is not None


def test_ttl_never_exceeds_the_token_lifetime(configure: Configure) -> None:
    _, sub = _user()
    token = _token(sub, lifetime=20)
    authcache.authenticate_token(token)
    assert 0 < caches["default"].ttl(authcache.token_key(token)) <= 20
    configure(AUTH_CACHE_TTL=5)
    token = _token(sub)
    authcache.authenticate_token(token)
    assert 0 < caches["default"].ttl(authcache.token_key(token)) <= 5


def test_expired_cached_token_is_refused(configure: Configure) -> None:
    configure(JWT_LEEWAY=0)
    _, sub = _user()
    token = _token(sub, lifetime=1)
    authcache.authenticate_token(token)
    time.sleep(1.1)
    with pytest.raises(TokenError) as info:
        authcache.authenticate_token(token)
    assert info.value.code == "expired"


def test_token_inside_the_leeway_after_exp_is_not_cached(configure: Configure) -> None:
    configure(JWT_LEEWAY=30)
    _, sub = _user()
    token = _token(sub, issued_at=int(time.time()) - 3610)  # expired 10 s ago
    assert authcache.authenticate_token(token)[1].sub == sub
    assert authcache._local._data == {}
    assert caches["default"].get(authcache.token_key(token)) is None


def test_failed_shared_write_keeps_the_local_copy(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class FailingWrites(CountingCache):
        def set(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("redis went away")

    monkeypatch.setattr(authcache, "caches", {"default": FailingWrites(caches["default"])})
    _, sub = _user()
    token = _token(sub)
    with caplog.at_level(logging.WARNING, "django_supahybrid"):
        authcache.authenticate_token(token)
    assert authcache.token_key(token) in authcache._local._data
    assert "ConnectionError" in caplog.records[0].getMessage()


def test_returned_user_is_a_copy() -> None:
    _, sub = _user(first_name="Ada")
    token = _token(sub)
    user, _ = authcache.authenticate_token(token)
    user.first_name = "Mallory"
    user._state.fields_cache["injected"] = None
    again, _ = authcache.authenticate_token(token)
    assert again.first_name == "Ada"
    assert "injected" not in again._state.fields_cache
    assert type(again) is User
    assert again._state.db == "default"
    assert not again._state.adding


def test_local_cache_is_bounded(configure: Configure) -> None:
    configure(AUTH_LOCAL_CACHE_SIZE=2)
    tokens = [_token(_user()[1]) for _ in range(3)]
    for token in tokens:
        authcache.authenticate_token(token)
    assert len(authcache._local._data) == 2
    assert authcache.token_key(tokens[0]) not in authcache._local._data
    configure(AUTH_LOCAL_CACHE_SIZE=0)
    authcache.clear_local()
    authcache.authenticate_token(tokens[0])
    assert authcache._local._data == {}


def test_idle_local_entry_expires_after_the_cache_ttl(configure: Configure) -> None:
    configure(AUTH_CACHE_TTL=1, AUTH_MAX_STALENESS=100.0)
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 0
    time.sleep(1.1)
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1  # not trusted past AUTH_CACHE_TTL since its last check


def test_entry_in_steady_use_still_expires_at_the_cache_ttl(configure: Configure) -> None:
    # Generation checks every 0.2 s must not extend the entry past verification + TTL.
    configure(AUTH_CACHE_TTL=1, AUTH_MAX_STALENESS=0.2)
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    time.sleep(0.5)
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)  # checked against the generation, kept
    assert len(queries) == 0
    time.sleep(0.6)  # 1.1 s after verification, 0.6 s after the last check
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1  # verified and resolved again


def test_a_shared_entry_keeps_its_verification_time_in_other_processes(
    configure: Configure,
) -> None:
    configure(AUTH_CACHE_TTL=2, AUTH_MAX_STALENESS=100.0)
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    time.sleep(1.2)
    authcache.clear_local()  # another process picks the entry up late
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 0  # a shared hit
    time.sleep(1.0)  # 2.2 s after verification, 1 s after the shared hit
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1


def test_a_shared_entry_past_its_verification_ttl_is_not_served(configure: Configure) -> None:
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    key = authcache.token_key(token)
    user, raw, generation, epoch, verified_at = caches["default"].get(key)
    caches["default"].set(key, (user, raw, generation, epoch, verified_at - 601))
    authcache.clear_local()
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1


def test_cached_entries_are_verified_again_after_a_purge_elsewhere(
    configure: Configure, counting: CountingCache
) -> None:
    from django_supahybrid.authentication import jwks

    configure(AUTH_MAX_STALENESS=0.2)
    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    caches["default"].set(jwks.EPOCH_KEY, "purged-elsewhere", timeout=None)
    time.sleep(0.25)
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1  # dropped and verified again
    # Generation and epoch share the round trip: one to re-check, one for the miss.
    assert counting.calls == calls + 3  # MGET (re-check), MGET (miss), SET (store)
    authcache.clear_local()
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 0  # the new entry, under the new epoch, is shared


def test_a_shared_entry_from_before_a_purge_is_not_served() -> None:
    from django_supahybrid.authentication import jwks

    _, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    jwks.purge()
    authcache.clear_local()
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1


@pytest.mark.parametrize("exp", [10**400, 2**53 + 1, 1e300, True, "9999999999"])
def test_odd_expiry_times_are_malformed_not_a_500(exp: Any) -> None:
    _, sub = _user()
    with pytest.raises(TokenError) as info:
        authcache.authenticate_token(_token(sub, exp=exp))
    assert info.value.code == "malformed"


def test_secret_counts_in_the_key_but_never_in_repr(configure: Configure) -> None:
    from django_supahybrid.conf import app_settings

    token = _token(uuid.uuid4())
    key = authcache.token_key(token)
    assert SECRET not in repr(app_settings())
    configure(JWT_SECRET=SECRET + "-rotated")
    assert authcache.token_key(token) != key


def test_settings_change_means_new_keys(configure: Configure) -> None:
    _, sub = _user()
    token = _token(sub)
    key = authcache.token_key(token)
    configure(JWT_ALLOWED_ROLES=["editor"])
    assert authcache.token_key(token) != key
    with pytest.raises(TokenError):
        authcache.authenticate_token(token)


def test_save_invalidates_this_process_at_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user.is_active = False
        user.save()
    assert len(callbacks) == 1
    with pytest.raises(TokenError) as info:
        authcache.authenticate_token(token)
    assert info.value.code == "user_inactive"


def test_local_entries_are_revalidated_after_the_staleness_window(
    configure: Configure, counting: CountingCache
) -> None:
    configure(AUTH_MAX_STALENESS=0.2)
    user, sub = _user(first_name="Ada")
    token = _token(sub)
    authcache.authenticate_token(token)
    # Another process changes the user: only the shared state moves (its generation, then
    # the change mark), this process's cache is left as it was.
    User.objects.filter(pk=user.pk).update(first_name="Grace")
    authcache._publish_change(sub, "default", app_settings())
    assert authcache.authenticate_token(token)[0].first_name == "Ada"  # within the window
    time.sleep(0.25)
    with CaptureQueriesContext(connection) as queries:
        assert authcache.authenticate_token(token)[0].first_name == "Grace"
    assert len(queries) == 1
    time.sleep(0.25)
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)  # unchanged: one MGET (mark, epoch), no query
    assert (len(queries), counting.calls) == (0, calls + 1)


def test_one_round_trip_per_window_however_many_tokens(
    configure: Configure, counting: CountingCache
) -> None:
    configure(AUTH_MAX_STALENESS=0.2)
    tokens = [_token(_user()[1]) for _ in range(20)]
    for token in tokens:
        authcache.authenticate_token(token)
    time.sleep(0.25)
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        for token in tokens:
            authcache.authenticate_token(token)
    # One MGET of the change mark and the key-set epoch confirms all twenty entries.
    assert (len(queries), counting.calls) == (0, calls + 1)


def test_a_change_elsewhere_drops_only_that_users_entries(
    configure: Configure, counting: CountingCache
) -> None:
    configure(AUTH_MAX_STALENESS=0.2)
    changed, changed_sub = _user(first_name="Ada")
    kept = [_token(_user()[1]) for _ in range(3)]
    token = _token(changed_sub)
    for each in [token, *kept]:
        authcache.authenticate_token(each)
    User.objects.filter(pk=changed.pk).update(first_name="Grace")
    authcache._publish_change(changed_sub, "default", app_settings())  # another process
    time.sleep(0.25)
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        for each in kept:
            authcache.authenticate_token(each)
    # The mark moved: one MGET for it, one for the generations of the users held here.
    assert (len(queries), counting.calls) == (0, calls + 2)
    with CaptureQueriesContext(connection) as queries:
        assert authcache.authenticate_token(token)[0].first_name == "Grace"
    assert len(queries) == 1


def test_unreadable_generations_confirm_nothing(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FailingGenerationReads(CountingCache):
        def get_many(self, keys: list[str]) -> Any:
            if any(":gen:" in key for key in keys) and len(keys) == 4:  # two held users
                raise ConnectionError("redis went away")
            return self.cache.get_many(keys)

    configure(AUTH_MAX_STALENESS=0.2)
    tokens = [_token(_user()[1]) for _ in range(2)]
    for token in tokens:
        authcache.authenticate_token(token)
    authcache._publish_change(uuid.uuid4(), "default", app_settings())  # someone else
    monkeypatch.setattr(authcache, "caches", {"default": FailingGenerationReads(caches["default"])})
    time.sleep(0.25)
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(tokens[0])
    assert len(queries) == 1  # dropped, verified and resolved again
    assert authcache.token_key(tokens[1]) not in authcache._local._data


def test_an_entry_stored_during_a_change_is_read_again(
    configure: Configure, counting: CountingCache
) -> None:
    configure(AUTH_MAX_STALENESS=0.2)
    _, sub = _user()
    token, other = _token(sub), _token(_user()[1])
    authcache.authenticate_token(token)
    authcache.authenticate_token(other)
    time.sleep(0.25)
    authcache.authenticate_token(other)  # the window is checked now
    # As if stored by a request that read the mark just before a change, while the check
    # was listing the entries: the check did not see it, and its mark is not the window's.
    entry = authcache._local._data[authcache.token_key(token)]
    entry.mark = "read-before-the-change"
    calls = counting.calls
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    # Not served as it was: read again from the shared cache, with its generation.
    assert (len(queries), counting.calls) == (0, calls + 1)
    assert authcache._local._data[authcache.token_key(token)] is not entry


def test_threads_waiting_for_a_check_use_its_result(
    configure: Configure, counting: CountingCache
) -> None:
    configure(AUTH_MAX_STALENESS=0.5)
    token = _token(_user()[1])
    authcache.authenticate_token(token)
    time.sleep(0.55)
    results: list[Any] = []
    with authcache._window_lock:  # a check under way in another thread
        waiting = threading.Thread(
            target=lambda: results.append(authcache.authenticate_token(token))
        )
        waiting.start()
        time.sleep(0.2)  # it now waits for that check
        authcache._check_window(app_settings())
        calls = counting.calls
    waiting.join()
    assert counting.calls == calls  # no second check
    assert results[0][1].sub == authcache._local._data[authcache.token_key(token)].claims.sub


def test_stale_shared_entry_is_not_served() -> None:
    user, sub = _user(first_name="Ada")
    token = _token(sub)
    authcache.authenticate_token(token)
    User.objects.filter(pk=user.pk).update(first_name="Grace")
    authcache.invalidate_sub(sub)
    authcache.clear_local()
    assert authcache.authenticate_token(token)[0].first_name == "Grace"


def test_foreign_shared_entry_is_ignored() -> None:
    _, sub = _user()
    token = _token(sub)
    caches["default"].set(authcache.token_key(token), "written by another version")
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 1


def test_without_shared_cache_entries_are_revalidated_by_query(configure: Configure) -> None:
    configure(AUTH_CACHE=None, AUTH_MAX_STALENESS=0.2)
    user, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    User.objects.filter(pk=user.pk).update(is_active=False)
    authcache.invalidate_sub(uuid.uuid4())  # no shared cache: nothing to bump
    time.sleep(0.25)
    with pytest.raises(TokenError):
        authcache.authenticate_token(token)


def _assert_nothing_secret_logged(records: list[logging.LogRecord], token: str) -> None:
    for record in records:
        text = record.getMessage()
        assert token not in text
        assert SECRET not in text
        assert token.split(".")[2] not in text


def test_dead_redis_port_still_authenticates(
    settings: Any, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "dead": cache_config(dead_redis_url(), socket_timeout=0.2, socket_connect_timeout=0.2),
    }
    configure(AUTH_CACHE="dead", AUTH_MAX_STALENESS=0.0)
    user, sub = _user()
    token = _token(sub)
    with caplog.at_level(logging.WARNING, "django_supahybrid"):
        for _ in range(5):
            assert authcache.authenticate_token(token)[0].pk == user.pk
        authcache._shared_down_until = 0.0  # retry the dead server once more
        assert authcache.authenticate_token(token)[0].pk == user.pk
        authcache.invalidate_sub(sub)
    warnings = [r for r in caplog.records if "cache unavailable" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited, not once per request
    _assert_nothing_secret_logged(caplog.records, token)


@pytest.fixture
def own_redis(settings: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of our own on a free port, as the ``own`` cache alias."""
    server = shutil.which("redis-server") or shutil.which("valkey-server")
    if server is None:  # pragma: no cover (the test environment provides one)
        pytest.fail("redis-server is needed for this test")
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        **settings.CACHES,
        "own": cache_config(url, socket_timeout=0.2, socket_connect_timeout=0.2),
    }
    yield proc
    proc.kill()
    proc.wait()


def test_redis_stopped_mid_run(
    own_redis: subprocess.Popen[bytes], configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(AUTH_CACHE="own", AUTH_MAX_STALENESS=0.0)
    user, sub = _user()
    token = _token(sub)
    authcache.authenticate_token(token)
    authcache.clear_local()
    with CaptureQueriesContext(connection) as queries:
        authcache.authenticate_token(token)
    assert len(queries) == 0  # served by our Redis
    own_redis.kill()
    own_redis.wait()
    authcache.clear_local()
    with (
        caplog.at_level(logging.WARNING, "django_supahybrid"),
        CaptureQueriesContext(connection) as queries,
    ):
        started = time.monotonic()
        for _ in range(20):
            assert authcache.authenticate_token(token)[0].pk == user.pk
        elapsed = time.monotonic() - started
    assert len(queries) >= 1  # verified and queried instead
    assert elapsed < 2.0  # one timeout at most, then the shared cache is skipped
    warnings = [r for r in caplog.records if "cache unavailable" in r.getMessage()]
    assert len(warnings) == 1
    _assert_nothing_secret_logged(caplog.records, token)


def test_clone_copies_state_and_relation_cache() -> None:
    user = User(username="fresh")
    clone = authcache._clone(user)  # no relation cache yet
    assert clone.username == "fresh"
    assert clone is not user
    assert clone._state is not user._state
    identity = SupabaseIdentity(sub=uuid.uuid4())
    user._state.fields_cache["supabase_identity"] = identity
    clone = authcache._clone(user)
    assert clone._state.fields_cache == {"supabase_identity": identity}
    assert clone._state.fields_cache is not user._state.fields_cache


def test_redis_that_never_answers_is_bounded_by_the_socket_timeout(
    settings: Any, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings.CACHES = {
            **settings.CACHES,
            "silent": cache_config(
                f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, socket_connect_timeout=0.3
            ),
        }
        configure(AUTH_CACHE="silent")
        user, sub = _user()
        token = _token(sub)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, "django_supahybrid"):
            for _ in range(10):
                authcache.clear_local()
                assert authcache.authenticate_token(token)[0].pk == user.pk
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # one timeout, then the shared cache is skipped
    assert any("TimeoutError" in r.getMessage() for r in caplog.records)


def test_strict_access_only_unwraps_caches_that_swallow_errors(settings: Any) -> None:
    from django_supahybrid._compat import strict_cache as strict

    settings.CACHES = {
        **settings.CACHES,
        "degrade": cache_config(dead_redis_url(), on_outage="degrade"),
        "raise": cache_config(dead_redis_url(), on_outage="raise"),
    }
    assert strict(caches["raise"]) is caches["raise"]
    assert strict(caches["degrade"]) is caches["degrade"].client
    with pytest.raises(Exception, match=r"Connection refused|Error"):
        strict(caches["degrade"]).get("key")
    assert caches["degrade"].get("key") is None  # what the library must not rely on
