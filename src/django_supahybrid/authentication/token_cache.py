"""Two-level cache of authenticated tokens, with cross-process invalidation.

A token is keyed by the full SHA-256 of its text (plus a fingerprint of the settings), never
by the token itself, and served from either level for at most ``AUTH_CACHE_TTL`` seconds
after it was verified, and never past its ``exp``:

1. a bounded LRU in this process: a hit costs no SQL query and no network round trip;
2. the shared Django cache (``AUTH_CACHE``, Redis): a hit costs one round trip, no SQL.

Invalidation uses a *generation* per Supabase user id in the shared cache, replaced after
every committed save or delete of the user or its identity, and then a *change mark*
shared by all users, replaced by every invalidation. An entry remembers the generation and
the mark read together, before its user was loaded. Once per ``AUTH_MAX_STALENESS`` seconds
a process reads the mark and the key-set epoch of ``jwks`` (one round trip, however many
tokens it holds); only when the mark moved does it read the generations of the users it
holds (one more), and it drops the entries whose generation changed. So a change made in
any process is seen by every process within that window. After ``jwks.purge()`` the epoch
moves, and every entry verified before it is verified again, with the keys fetched anew,
within the same window. When the shared cache fails, requests verify and query instead (a
warning is logged at most once a minute) and the local entries are still re-validated
every window, against the database.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import router, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from django_supahybrid._compat import cache_error_name, strict_cache
from django_supahybrid._ratelimit import warn_every
from django_supahybrid.authentication import jwks
from django_supahybrid.authentication.tokens import (
    SupabaseClaims,
    TokenError,
    unverified_payload,
    verify_token,
)
from django_supahybrid.authentication.users import resolve_user, subs_of_user
from django_supahybrid.conf import SupaHybridSettings, app_settings
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.monitoring import metrics

__all__ = [
    "authenticate_token",
    "clear_local",
    "connect_signals",
    "forget_shared_outage",
    "invalidate_sub",
    "token_key",
]

logger = logging.getLogger(__name__)

#: After a shared-cache error, skip the shared cache for this many seconds.
SHARED_RETRY_AFTER = 5.0
_NO_GENERATION = "-"
#: Replaced after every generation: a process that sees it move re-reads the generations.
_CHANGES_KEY = "supahybrid:auth:changes"
_NO_MARK = "-"


@dataclasses.dataclass
class _Entry:
    user: AbstractBaseUser
    claims: SupabaseClaims
    generation: str | None  # None: unknown (the shared cache was unreachable)
    epoch: str | None  # the key-set epoch read before verification; None: unknown
    verified_at: float  # when the token was verified, in whichever process
    checked_at: float  # when generation and epoch were last confirmed
    expires_at: float = 0.0  # never served after: min(exp, verified_at + AUTH_CACHE_TTL)
    # The change mark read with the generation: while the shared mark is still this one,
    # no invalidation has completed since, so a check of the mark confirms the entry.
    mark: str | None = None
    dropped: bool = False  # by a check, while a request may still hold it


@dataclasses.dataclass(frozen=True)
class _State:
    """What one read of the shared cache said: a user's generation, the epoch, the mark."""

    generation: str
    epoch: str
    mark: str


@dataclasses.dataclass(frozen=True)
class _Window:
    """The last process-wide check: every entry held then was confirmed as of ``at``."""

    conf: SupaHybridSettings  # the settings it was made under (their cache, their keys)
    at: float  # when the mark and the epoch were read (before the read)
    epoch: str
    mark: str


class _LRU:
    def __init__(self) -> None:
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> _Entry | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Entry, size: int) -> None:
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > size:
                self._data.popitem(last=False)

    def discard(self, key: str, entry: _Entry) -> None:
        """Remove ``entry`` (not a newer one stored under ``key`` meanwhile)."""
        with self._lock:
            if self._data.get(key) is entry:
                del self._data[key]

    def items(self) -> list[tuple[str, _Entry]]:
        with self._lock:
            return list(self._data.items())

    def drop_sub(self, sub: uuid.UUID) -> None:
        with self._lock:
            for key in [k for k, e in self._data.items() if e.claims.sub == sub]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_local = _LRU()
_shared_down_until = 0.0
_fingerprint: tuple[SupaHybridSettings | None, str] = (None, "")
_window: _Window | None = None
_window_lock = threading.Lock()


def clear_local() -> None:
    """Empty this process's cache (tests; the shared cache is left alone)."""
    global _window
    _local.clear()
    _window = None


def forget_shared_outage() -> None:
    """Try the shared cache on the next request even if it failed lately (tests)."""
    global _shared_down_until
    _shared_down_until = 0.0


def _config_fingerprint(conf: SupaHybridSettings) -> str:
    # Any settings change yields new keys, so no decision made under other settings is reused.
    global _fingerprint
    if _fingerprint[0] is not conf:
        # asdict, not repr: the secret is left out of repr but must count (a new secret
        # must not reuse decisions made with the old one).
        values = repr(sorted(dataclasses.asdict(conf).items()))
        _fingerprint = (conf, hashlib.sha256(values.encode()).hexdigest()[:12])
    return _fingerprint[1]


def token_key(token: str, conf: SupaHybridSettings | None = None, namespace: str = "") -> str:
    """The cache key of ``token``: the full SHA-256 of its text, never the token.

    ``namespace`` keeps apart the results of authentication classes that verify or resolve
    users their own way.
    """
    fingerprint = _config_fingerprint(conf or app_settings()) + namespace
    return f"supahybrid:auth:{fingerprint}:{hashlib.sha256(token.encode()).hexdigest()}"


def _generation_key(sub: uuid.UUID | str) -> str:
    return f"supahybrid:auth:gen:{sub}"


def _shared_failed(exc: Exception) -> None:
    global _shared_down_until
    _shared_down_until = time.monotonic() + SHARED_RETRY_AFTER
    warn_every(
        logger,
        "auth-cache",
        "Authentication cache unavailable (%s); verifying tokens and querying the database "
        "until it answers again.",
        cache_error_name(exc),
    )


def _shared(conf: SupaHybridSettings) -> Any:
    if conf.AUTH_CACHE is None or time.monotonic() < _shared_down_until:
        return None
    return strict_cache(caches[conf.AUTH_CACHE])


def _read(keys: list[str], conf: SupaHybridSettings) -> tuple[dict[str, Any], str, str] | None:
    """``keys``, the key-set epoch and the change mark, in one round trip.

    ``None`` when the shared cache is unreachable (or not configured).
    """
    cache = _shared(conf)
    if cache is None:
        return None
    try:
        found: dict[str, Any] = cache.get_many([*keys, jwks.EPOCH_KEY, _CHANGES_KEY])
    except Exception as exc:  # any cache client error: degrade, never fail the request
        _shared_failed(exc)
        return None
    epoch = found.get(jwks.EPOCH_KEY) or jwks.NO_EPOCH
    jwks.observe_epoch(epoch, conf)  # a purge reaches the keys with the cached tokens
    return found, epoch, found.get(_CHANGES_KEY) or _NO_MARK


def _check_window(conf: SupaHybridSettings) -> _Window | None:
    """Confirm or drop every local entry at once; ``None`` when the cache cannot tell.

    One round trip for the mark and the epoch; a second, for the generations of the users
    held here, only when the mark moved since an entry read it.
    """
    global _window
    started = time.time()
    read = _read([], conf)
    if read is None:
        return None
    _, epoch, mark = read
    stale, unsure = [], []
    for key, entry in _local.items():
        if entry.epoch != epoch:
            stale.append((key, entry))
        elif entry.mark != mark:
            unsure.append((key, entry))
    if unsure:
        read = _read(sorted({_generation_key(entry.claims.sub) for _, entry in unsure}), conf)
        for key, entry in unsure:
            generation = None  # unreadable: nothing is confirmed
            if read is not None:
                generation = read[0].get(_generation_key(entry.claims.sub)) or _NO_GENERATION
            if generation is not None and generation == entry.generation:
                entry.mark = mark  # unchanged after the mark was read: valid as of ``started``
            else:
                stale.append((key, entry))
    for key, entry in stale:
        entry.dropped = True
        _local.discard(key, entry)
    _window = _Window(conf, started, epoch, mark)
    return _window


def _current_window(now: float, conf: SupaHybridSettings) -> _Window | None:
    window = _window
    if window is None or window.conf is not conf or now - window.at >= conf.AUTH_MAX_STALENESS:
        with _window_lock:  # one check per process and window, not one per thread
            window = _window
            if (
                window is None
                or window.conf is not conf
                or time.time() - window.at >= conf.AUTH_MAX_STALENESS
            ):
                window = _check_window(conf)
    return window


def _from_shared(value: Any, state: _State, now: float) -> _Entry | None:
    try:
        user, raw, entry_generation, entry_epoch, verified_at = value
        if entry_generation != state.generation or entry_epoch != state.epoch:
            return None
        claims = SupabaseClaims.from_payload(raw)
        entry = _Entry(user, claims, state.generation, state.epoch, float(verified_at), now)
    except (TypeError, ValueError, TokenError):  # an entry written by another version
        return None
    entry.mark = state.mark
    return entry


def _expiry(entry: _Entry, conf: SupaHybridSettings) -> float:
    # From verification, not from the last check: AUTH_CACHE_TTL is the safety net for
    # changes that send no signal (QuerySet.update(), raw SQL, the Supabase dashboard).
    return min(entry.claims.exp, entry.verified_at + conf.AUTH_CACHE_TTL)


def _store(key: str, entry: _Entry, conf: SupaHybridSettings, *, shared: bool = True) -> None:
    entry.expires_at = _expiry(entry, conf)
    ttl = entry.expires_at - time.time()
    if ttl <= 0:
        return
    if conf.AUTH_LOCAL_CACHE_SIZE > 0:
        _local.put(key, entry, conf.AUTH_LOCAL_CACHE_SIZE)
    known = entry.generation is not None and entry.epoch is not None
    cache = _shared(conf) if shared and known else None
    if cache is not None:
        value = (entry.user, entry.claims.raw, entry.generation, entry.epoch, entry.verified_at)
        try:
            cache.set(key, value, timeout=ttl)
        except Exception as exc:  # any cache client error: the local copy still serves
            _shared_failed(exc)


def _clone(user: AbstractBaseUser) -> AbstractBaseUser:
    # What copy.copy() does for a model instance (a shallow copy with its own state and
    # relation caches), at a tenth of the cost: this runs on every cache hit.
    clone = object.__new__(type(user))
    clone.__dict__.update(user.__dict__)
    state = object.__new__(type(user._state))
    state.__dict__.update(user._state.__dict__)
    if "fields_cache" in state.__dict__:
        state.fields_cache = dict(state.fields_cache)
    clone._state = state
    return clone


def _result(entry: _Entry) -> tuple[AbstractBaseUser, SupabaseClaims]:
    # A copy, so a view that changes request.user never changes the cached user.
    return _clone(entry.user), entry.claims


def _local_hit(key: str, conf: SupaHybridSettings) -> _Entry | None:
    entry = _local.get(key)
    if entry is None:
        return None
    now = time.time()
    # Never past AUTH_CACHE_TTL since verification: the generation key outlives that, so
    # a change made while the entry sat unused cannot be missed either.
    if now < entry.expires_at and not entry.dropped:
        if now - entry.checked_at < conf.AUTH_MAX_STALENESS:
            return entry
        # Confirmed by the window's check, or stored since with nothing changed. Otherwise
        # (no shared cache, or stored while a change was under way, just as the check
        # listed the entries) the token is verified and its user resolved again.
        window = _current_window(now, conf)
        if (
            window is not None
            and not entry.dropped
            and (entry.mark, entry.epoch) == (window.mark, window.epoch)
        ):
            return entry
    _local.discard(key, entry)
    return None


def _sub_hint(token: str) -> str | None:
    # The unverified sub only picks the generation key; the entry itself is keyed by the
    # token's hash, so it can only exist for a token verified earlier.
    try:
        sub = unverified_payload(token).get("sub")
        return str(uuid.UUID(sub)) if isinstance(sub, str) and len(sub) == 36 else None
    except (TokenError, ValueError):
        return None


def authenticate_token(
    token: str,
    *,
    verify: Callable[[str], SupabaseClaims] = verify_token,
    resolve: Callable[[SupabaseClaims], AbstractBaseUser] = resolve_user,
    namespace: str = "",
) -> tuple[AbstractBaseUser, SupabaseClaims]:
    """The user and claims of a Supabase access token, from cache or verified afresh.

    On a miss, ``verify`` turns the token into claims and ``resolve`` the claims into a
    user; their results are cached under ``namespace``. Raises
    `TokenError` when the token or its user
    is refused.
    """
    conf = app_settings()
    key = token_key(token, conf, namespace)
    entry = _local_hit(key, conf)
    if entry is not None:
        metrics.incr(metrics.AUTH_CACHE_LOCAL_HIT)
        return _result(entry)
    sub = _sub_hint(token)
    started = time.time()
    state = None
    if sub is not None:
        gen_key = _generation_key(sub)
        read = _read([key, gen_key], conf)
        if read is not None:
            found, epoch, mark = read
            state = _State(found.get(gen_key) or _NO_GENERATION, epoch, mark)
            shared_value = found.get(key)
            if shared_value is not None:
                entry = _from_shared(shared_value, state, started)
                if entry is not None and _expiry(entry, conf) > started:
                    _store(key, entry, conf, shared=False)
                    metrics.incr(metrics.AUTH_CACHE_SHARED_HIT)
                    return _result(entry)
    metrics.incr(metrics.AUTH_CACHE_MISS)
    # Generation, epoch and mark are read before the user and the keys: a change that
    # lands meanwhile leaves this entry with the older values, so it is dropped at its
    # next check.
    claims = verify(token)
    entry = _Entry(resolve(claims), claims, None, None, started, started)
    if state is not None:
        entry.generation, entry.epoch, entry.mark = state.generation, state.epoch, state.mark
    _store(key, entry, conf)
    return _result(entry)


def invalidate_sub(sub: uuid.UUID) -> None:
    """Make every process drop what it cached for Supabase user ``sub``.

    This process forgets at once; others within ``AUTH_MAX_STALENESS`` seconds.
    """
    conf = app_settings()
    _local.drop_sub(sub)
    if conf.AUTH_CACHE is None:
        return
    try:
        # Tried even while reads skip the shared cache: a missed invalidation costs more.
        _publish_change(sub, conf.AUTH_CACHE, conf)
    except Exception as exc:  # any cache client error: entries expire within the TTL
        _shared_failed(exc)


def _publish_change(sub: uuid.UUID, alias: str, conf: SupaHybridSettings) -> None:
    """Replace the generation of ``sub``, then the change mark, in cache ``alias``."""
    cache = strict_cache(caches[alias])
    # The generation outlives every entry that may hold the previous one.
    cache.set(_generation_key(sub), uuid.uuid4().hex, timeout=conf.AUTH_CACHE_TTL + 60)
    # Then the mark, never before: a process that sees the new mark and re-reads the
    # generations must find the new one. No expiry: it must outlive every entry.
    cache.set(_CHANGES_KEY, uuid.uuid4().hex, timeout=None)


def _on_change(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    from django_supahybrid.authentication import token_cache as authcache

    if isinstance(instance, SupabaseIdentity):
        subs = [instance.sub]
    elif isinstance(instance, get_user_model()):
        subs = subs_of_user(instance)
    else:  # the row holding AUTH_USER_UUID_FIELD at the end of a path (a profile)
        field = app_settings().AUTH_USER_UUID_FIELD or ""
        value = getattr(instance, field.rsplit("__", 1)[-1], None)
        subs = [value] if isinstance(value, uuid.UUID) else []
    using = kwargs.get("using") or router.db_for_write(sender)
    for sub in subs:
        # After commit: a request that read the old row before then sees a newer
        # generation afterwards and drops what it cached.
        transaction.on_commit(functools.partial(authcache.invalidate_sub, sub), using=using)


def _id_holder() -> type[Model] | None:
    """The model at the end of an ``AUTH_USER_UUID_FIELD`` path, if it is one and valid."""
    try:
        field = app_settings().AUTH_USER_UUID_FIELD
        model: Any = get_user_model()
        for name in (field or "").split("__")[:-1]:
            relation = model._meta.get_field(name)
            if not relation.one_to_one:
                return None
            model = relation.related_model
    except (ImproperlyConfigured, FieldDoesNotExist):
        return None  # reported by the system checks
    return model if field and "__" in field else None


def connect_signals() -> None:
    """Invalidate cached authentications when a user or an identity is saved or deleted.

    Also when the row holding the Supabase id at the end of an ``AUTH_USER_UUID_FIELD``
    path (a profile) is. Connected to those models only, so other models keep Django's
    fast deletes.
    """
    models: list[type[Model]] = [get_user_model(), SupabaseIdentity]
    holder = _id_holder()
    if holder is not None:
        models.append(holder)
    for model in models:
        uid = f"django_supahybrid.authentication.users.{model._meta.label_lower}"
        post_save.connect(_on_change, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=uid + ".delete")
