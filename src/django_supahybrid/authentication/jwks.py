"""Fetching and caching the project's JWKS (the public signing keys of Supabase Auth).

Not ``PyJWKClient(cache_keys=True)``: that one never expires a key. Here keys live in the
process and in the shared Django cache for at most ``JWKS_CACHE_TTL`` seconds (Supabase's
edge caches the set for 600 s). A ``kid`` that is not in the set triggers one refresh,
single-flight across threads, then a cooldown, so attacker-chosen ``kid`` values cannot
make the process fetch in a loop. When the endpoint fails, the last good keys stay in use
for at most ``JWKS_MAX_STALE`` seconds past their TTL, with a warning in the log.

A fetch ends within ``JWKS_FETCH_TIMEOUT`` seconds however slowly the endpoint answers. A
request holding usable keys never waits for another thread's fetch; one that needs a key
the process lacks waits at most that long, then carries on with the keys there are.

Revocation: `purge` replaces the key-set *epoch* in the shared cache. Each process
re-reads the epoch at least every ``AUTH_MAX_STALENESS`` seconds while it verifies tokens,
and the token cache reads it with every generation check and hands it to
`observe_epoch`; keys loaded under another epoch are dropped and fetched again, so a
purged key stops verifying in every process within that window.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from django.core.cache import caches

from django_supahybrid._compat import cache_error_name, strict_cache
from django_supahybrid._ratelimit import warn_every
from django_supahybrid.authentication import _http
from django_supahybrid.conf import SupaHybridSettings, app_settings
from django_supahybrid.monitoring import metrics

__all__ = [
    "EPOCH_KEY",
    "NO_EPOCH",
    "JWKSError",
    "KeySnapshot",
    "forget_local",
    "get_signing_key",
    "jwks_url",
    "observe_epoch",
    "purge",
    "read_epoch",
    "redacted_url",
    "refresh",
    "status",
]

logger = logging.getLogger(__name__)

#: The shared-cache key of the key-set epoch, replaced by every `purge()`.
EPOCH_KEY = "supahybrid:jwks:epoch"
#: The epoch before any purge (no key in the shared cache).
NO_EPOCH = "-"

_ALGORITHMS = frozenset({"ES256", "RS256", "EdDSA"})
_MAX_BYTES = 1_000_000


class JWKSError(Exception):
    """The JWKS could not be fetched or parsed (the message never holds key material)."""


@dataclasses.dataclass(frozen=True)
class KeySnapshot:
    """A parsed key set, when it was fetched (epoch seconds) and the key-set epoch then."""

    keys: dict[str, jwt.PyJWK]
    raw: dict[str, Any]
    fetched_at: float
    #: The shared key-set epoch read before the fetch; ``None`` when it could not be read.
    epoch: str | None = None

    def age(self) -> float:
        return time.time() - self.fetched_at


def jwks_url(conf: SupaHybridSettings | None = None) -> str | None:
    """The JWKS address: ``JWKS_URL``, else derived from ``SUPABASE_URL``; ``None`` if off."""
    conf = conf or app_settings()
    if conf.JWKS_URL is False:
        return None
    if conf.JWKS_URL:
        return conf.JWKS_URL
    if conf.SUPABASE_URL:
        return conf.SUPABASE_URL.rstrip("/") + "/auth/v1/.well-known/jwks.json"
    return None


def redacted_url(url: str) -> str:
    """``url`` with the password of its user part (if any) replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


def _skip(index: int, entry: object, reason: str) -> None:
    kid = entry.get("kid") if isinstance(entry, dict) else None
    name = repr(kid[:64]) if isinstance(kid, str) else f"#{index}"
    warn_every(logger, f"jwks-entry:{name}", "Skipping JWKS key %s: %s.", name, reason)


def _entry_key(index: int, entry: object) -> jwt.PyJWK | None:
    """The verification key of one JWKS entry; ``None`` (with a warning if malformed)."""
    if not isinstance(entry, dict):
        _skip(index, entry, "not an object")
        return None
    use, ops = entry.get("use", "sig"), entry.get("key_ops", ["verify"])
    if not isinstance(entry.get("kid"), str) or not isinstance(use, str):
        _skip(index, entry, "'kid' or 'use' is missing or not a string")
        return None
    if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
        _skip(index, entry, "'key_ops' is not a list of strings")
        return None
    if use != "sig" or "verify" not in ops:
        return None  # a key for another purpose: not ours to use, nothing wrong
    try:
        key = jwt.PyJWK(entry)
    except Exception:  # data from the network into the crypto library: any error is "bad"
        _skip(index, entry, "unusable key data")
        return None
    return key if key.algorithm_name in _ALGORITHMS else None


def _parse(raw: object) -> dict[str, jwt.PyJWK]:
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise JWKSError("the document has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for index, entry in enumerate(raw["keys"]):
        key = _entry_key(index, entry)
        if key is not None:
            keys[entry["kid"]] = key
    return keys


def _fetch(url: str, timeout: float) -> tuple[dict[str, Any], dict[str, jwt.PyJWK]]:
    metrics.incr(metrics.JWKS_FETCH)
    try:
        return _download(url, timeout)
    except JWKSError:
        metrics.incr(metrics.JWKS_FAILURE)
        raise


def _download(url: str, timeout: float) -> tuple[dict[str, Any], dict[str, jwt.PyJWK]]:
    try:
        body = _http.get(
            url,
            timeout=timeout,
            max_bytes=_MAX_BYTES,
            headers={"Accept": "application/json", "User-Agent": "django-supahybrid"},
        )
    except _http.FetchError as exc:
        raise JWKSError(str(exc)) from None
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        raise JWKSError("the document is not JSON") from None
    return raw, _parse(raw)


def _shared_key(url: str) -> str:
    return "supahybrid:jwks:" + hashlib.sha256(url.encode()).hexdigest()[:24]


def _cache_failed(exc: Exception) -> None:
    warn_every(logger, "jwks-cache", "JWKS: shared cache unavailable (%s).", cache_error_name(exc))


def read_epoch(conf: SupaHybridSettings) -> str | None:
    """The key-set epoch in the shared cache; ``None`` without one or when it is unreachable."""
    if conf.AUTH_CACHE is None:
        return None
    try:
        epoch: str | None = strict_cache(caches[conf.AUTH_CACHE]).get(EPOCH_KEY)
    except Exception as exc:  # any cache client error: the keys in hand stay in use
        _cache_failed(exc)
        return None
    return epoch or NO_EPOCH


def _shared_get(url: str, conf: SupaHybridSettings) -> tuple[KeySnapshot | None, str | None]:
    """The shared copy (if written under the current epoch) and the current epoch."""
    if conf.AUTH_CACHE is None:
        return None, None
    try:
        found = strict_cache(caches[conf.AUTH_CACHE]).get_many([_shared_key(url), EPOCH_KEY])
    except Exception as exc:  # any cache client error: fall back to the network
        _cache_failed(exc)
        return None, None
    epoch = found.get(EPOCH_KEY) or NO_EPOCH
    data = found.get(_shared_key(url))
    try:
        if data is None or data["epoch"] != epoch:
            return None, epoch  # none, or written before the last purge
        snap = KeySnapshot(_parse(data["raw"]), data["raw"], float(data["fetched_at"]), epoch)
    except (TypeError, KeyError, ValueError, JWKSError):  # written by another version
        return None, epoch
    return snap, epoch


def _shared_set(url: str, snap: KeySnapshot, conf: SupaHybridSettings) -> None:
    if conf.AUTH_CACHE is None or snap.epoch is None:
        return
    try:
        data = {"raw": snap.raw, "fetched_at": snap.fetched_at, "epoch": snap.epoch}
        strict_cache(caches[conf.AUTH_CACHE]).set(
            _shared_key(url), data, timeout=conf.JWKS_CACHE_TTL
        )
    except Exception as exc:  # any cache client error: the process copy still works
        _cache_failed(exc)


class _KeySet:
    """The cached keys of one JWKS URL in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.snapshot: KeySnapshot | None = None
        self._lock = threading.Lock()
        self._last_fetch = -float("inf")  # monotonic time of the last network attempt
        self._retry_after = -float("inf")  # monotonic; no network attempt before it
        self._epoch_read_at = -float("inf")  # monotonic time the shared epoch was last read

    def _fresh(self, conf: SupaHybridSettings) -> KeySnapshot | None:
        snap = self.snapshot
        return snap if snap is not None and snap.age() < conf.JWKS_CACHE_TTL else None

    def observe(self, epoch: str | None) -> None:
        """Drop the keys if ``epoch``, just read from the shared cache, is not theirs."""
        if epoch is None:
            return
        self._epoch_read_at = time.monotonic()
        snap = self.snapshot
        if snap is not None and snap.epoch != epoch:
            logger.info("JWKS: the key set was purged; fetching %s again.", redacted_url(self.url))
            self.snapshot = None

    def _check_epoch(self, conf: SupaHybridSettings) -> None:
        # At most one read per AUTH_MAX_STALENESS; the token cache's own reads count too.
        if (
            conf.AUTH_CACHE is not None
            and self.snapshot is not None
            and time.monotonic() - self._epoch_read_at >= conf.AUTH_MAX_STALENESS
        ):
            self._epoch_read_at = time.monotonic()  # also after a failed read: no retry storm
            self.observe(read_epoch(conf))

    def get(self, kid: str, conf: SupaHybridSettings) -> jwt.PyJWK | None:
        self._check_epoch(conf)
        snap = self._fresh(conf) or self.load(conf, force=False)
        key = snap.keys.get(kid) if snap else None
        if key is None and time.monotonic() - self._last_fetch >= conf.JWKS_REFRESH_COOLDOWN:
            snap = self.load(conf, force=True)
            key = snap.keys.get(kid) if snap else None
        return key

    def load(self, conf: SupaHybridSettings, *, force: bool) -> KeySnapshot | None:
        """Refresh (single-flight): shared cache first unless forced, then the endpoint."""
        waited_since = time.monotonic()
        usable = self._usable(conf)
        # Another thread may be fetching: with usable keys in hand, do not queue behind it
        # unless a key they lack is wanted, and never longer than one fetch may take.
        wait = conf.JWKS_FETCH_TIMEOUT if force or usable is None else 0.0
        if not self._lock.acquire(timeout=wait):
            return self._usable(conf)
        try:
            if self._last_fetch >= waited_since or (not force and self._fresh(conf)):
                return self.snapshot  # another thread refreshed while this one waited
            shared, epoch = _shared_get(self.url, conf) if not force else (None, read_epoch(conf))
            if epoch is not None:
                self._epoch_read_at = time.monotonic()
            if shared is not None and shared.age() < conf.JWKS_CACHE_TTL:
                self.snapshot = shared
                return shared
            if time.monotonic() < self._retry_after:
                return self._usable(conf)
            return self._fetch(conf, epoch)
        finally:
            self._lock.release()

    def _fetch(self, conf: SupaHybridSettings, epoch: str | None) -> KeySnapshot | None:
        try:
            raw, keys = _fetch(self.url, conf.JWKS_FETCH_TIMEOUT)
        except JWKSError as exc:
            self._last_fetch = time.monotonic()
            self._retry_after = time.monotonic() + conf.JWKS_REFRESH_COOLDOWN
            usable = self._usable(conf)
            warn_every(
                logger,
                "jwks-fetch:" + self.url,
                "JWKS: fetching %s failed (%s); %s.",
                redacted_url(self.url),
                exc,
                "keeping the last good keys" if usable else "no usable keys",
            )
            return usable
        # Set once the fetch is over: threads that queued meanwhile reuse its result.
        self._last_fetch = time.monotonic()
        self.snapshot = KeySnapshot(keys, raw, time.time(), epoch)
        _shared_set(self.url, self.snapshot, conf)
        return self.snapshot

    def _usable(self, conf: SupaHybridSettings) -> KeySnapshot | None:
        snap = self.snapshot
        if snap is not None and snap.age() >= conf.JWKS_CACHE_TTL + conf.JWKS_MAX_STALE:
            self.snapshot = snap = None
        return snap


_registry: dict[str, _KeySet] = {}
_registry_lock = threading.Lock()


def _keyset(url: str) -> _KeySet:
    with _registry_lock:
        return _registry.setdefault(url, _KeySet(url))


def get_signing_key(kid: str) -> jwt.PyJWK | None:
    """The public key with ``kid`` from the project's JWKS, or ``None`` if unknown.

    Only ES256, RS256 and EdDSA keys are ever returned; the key's own algorithm is the
    only one a token may use with it.
    """
    conf = app_settings()
    url = jwks_url(conf)
    return _keyset(url).get(kid, conf) if url else None


def observe_epoch(epoch: str | None, conf: SupaHybridSettings) -> None:
    """Drop this process's keys if ``epoch`` (just read from the shared cache) is not theirs.

    The token cache calls this with the epoch it reads alongside each generation, so a
    purge reaches the keys as soon as it reaches the cached tokens.
    """
    url = jwks_url(conf)
    keyset = _registry.get(url) if url else None
    if keyset is not None:
        keyset.observe(epoch)


def status() -> KeySnapshot | None:
    """The keys this process holds (loading them from the shared cache or the network)."""
    conf = app_settings()
    url = jwks_url(conf)
    if url is None:
        return None
    keyset = _keyset(url)
    keyset._check_epoch(conf)
    return keyset._fresh(conf) or keyset.load(conf, force=False)


def refresh() -> KeySnapshot:
    """Fetch the JWKS now, store it in the shared cache; raise `JWKSError` on failure."""
    conf = app_settings()
    url = jwks_url(conf)
    if url is None:
        raise JWKSError("no JWKS URL: set SUPAHYBRID['SUPABASE_URL'] or ['JWKS_URL']")
    keyset = _keyset(url)
    with keyset._lock:
        epoch = read_epoch(conf)
        raw, keys = _fetch(url, conf.JWKS_FETCH_TIMEOUT)
        keyset._last_fetch = time.monotonic()
        keyset.snapshot = KeySnapshot(keys, raw, time.time(), epoch)
        _shared_set(url, keyset.snapshot, conf)
        return keyset.snapshot


def forget_local() -> None:
    """Forget the keys this process holds (tests); the shared cache is left alone."""
    with _registry_lock:
        _registry.clear()


def purge() -> None:
    """Forget the keys everywhere: in this process now, in every other within the window.

    A new epoch goes to the shared cache and the shared copy of the keys is deleted; every
    process then drops its keys and the tokens it verified before, within
    ``AUTH_MAX_STALENESS`` seconds. Raises `JWKSError` when the shared cache cannot
    be written, since other processes would then keep their keys.
    """
    conf = app_settings()
    url = jwks_url(conf)
    forget_local()
    if conf.AUTH_CACHE is None:
        return
    try:
        cache = strict_cache(caches[conf.AUTH_CACHE])
        # No expiry: the epoch must outlive every entry verified under the previous one.
        cache.set(EPOCH_KEY, uuid.uuid4().hex, timeout=None)
        if url is not None:
            cache.delete(_shared_key(url))
    except Exception as exc:  # any cache client error: say so, the purge did not spread
        raise JWKSError(
            f"the shared cache could not be written ({cache_error_name(exc)}); other "
            "processes keep their keys until it answers and purge runs again"
        ) from None
