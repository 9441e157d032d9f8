"""Fetching and caching the project's JWKS (the public signing keys of Supabase Auth).

Not ``PyJWKClient(cache_keys=True)``: that one never expires a key. Here keys live in the
process and in the shared Django cache for at most ``JWKS_CACHE_TTL`` seconds (Supabase's
edge caches the set for 600 s). A ``kid`` that is not in the set triggers one refresh,
single-flight across threads, then a cooldown, so attacker-chosen ``kid`` values cannot
make the process fetch in a loop. When the endpoint fails, the last good keys stay in use
for at most ``JWKS_MAX_STALE`` seconds past their TTL, with a warning in the log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core.cache import caches

from django_supahybrid._compat import cache_error_name, strict_cache
from django_supahybrid._ratelimit import warn_every
from django_supahybrid.conf import SupaHybridSettings, app_settings
from django_supahybrid.monitoring import metrics

__all__ = [
    "JWKSError",
    "KeySnapshot",
    "forget_local",
    "get_signing_key",
    "jwks_url",
    "purge",
    "refresh",
    "status",
]

logger = logging.getLogger(__name__)

_ALGORITHMS = frozenset({"ES256", "RS256", "EdDSA"})
_MAX_BYTES = 1_000_000


class JWKSError(Exception):
    """The JWKS could not be fetched or parsed (the message never holds key material)."""


@dataclasses.dataclass(frozen=True)
class KeySnapshot:
    """A parsed key set and when it was fetched from the endpoint (epoch seconds)."""

    keys: dict[str, jwt.PyJWK]
    raw: dict[str, Any]
    fetched_at: float

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


def _parse(raw: object) -> dict[str, jwt.PyJWK]:
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise JWKSError("the document has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in raw["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig" or "verify" not in entry.get("key_ops", ["verify"]):
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            logger.warning("Skipping JWKS key %r: unusable key data.", entry["kid"])
            continue
        if key.algorithm_name in _ALGORITHMS:
            keys[entry["kid"]] = key
    return keys


def _fetch(url: str, timeout: float) -> dict[str, Any]:
    metrics.incr(metrics.JWKS_FETCH)
    try:
        return _download(url, timeout)
    except JWKSError:
        metrics.incr(metrics.JWKS_FAILURE)
        raise


def _download(url: str, timeout: float) -> dict[str, Any]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise JWKSError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, headers={"Accept": "application/json", "User-Agent": "django-supahybrid"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise JWKSError(f"HTTP {exc.code}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise JWKSError(f"{type(exc).__name__}: {exc}") from None
    if len(body) > _MAX_BYTES:
        raise JWKSError("the document is larger than 1 MB")
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        raise JWKSError("the document is not JSON") from None
    _parse(raw)
    return raw  # type: ignore[no-any-return]


def _shared_key(url: str) -> str:
    return "supahybrid:jwks:" + hashlib.sha256(url.encode()).hexdigest()[:24]


def _shared_get(url: str, conf: SupaHybridSettings) -> KeySnapshot | None:
    if conf.AUTH_CACHE is None:
        return None
    try:
        data = strict_cache(caches[conf.AUTH_CACHE]).get(_shared_key(url))
        if data is None:
            return None
        return KeySnapshot(_parse(data["raw"]), data["raw"], float(data["fetched_at"]))
    except Exception as exc:  # any cache client error: fall back to the network
        warn_every(
            logger, "jwks-cache", "JWKS: shared cache unavailable (%s).", cache_error_name(exc)
        )
        return None


def _shared_set(url: str, snap: KeySnapshot | None, conf: SupaHybridSettings) -> None:
    if conf.AUTH_CACHE is None:
        return
    try:
        cache = strict_cache(caches[conf.AUTH_CACHE])
        if snap is None:
            cache.delete(_shared_key(url))
        else:
            data = {"raw": snap.raw, "fetched_at": snap.fetched_at}
            cache.set(_shared_key(url), data, timeout=conf.JWKS_CACHE_TTL)
    except Exception as exc:  # any cache client error: the process copy still works
        warn_every(
            logger, "jwks-cache", "JWKS: shared cache unavailable (%s).", cache_error_name(exc)
        )


class _KeySet:
    """The cached keys of one JWKS URL in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.snapshot: KeySnapshot | None = None
        self._lock = threading.Lock()
        self._last_fetch = -float("inf")  # monotonic time of the last network attempt
        self._retry_after = -float("inf")  # monotonic; no network attempt before it

    def _fresh(self, conf: SupaHybridSettings) -> KeySnapshot | None:
        snap = self.snapshot
        return snap if snap is not None and snap.age() < conf.JWKS_CACHE_TTL else None

    def get(self, kid: str, conf: SupaHybridSettings) -> jwt.PyJWK | None:
        snap = self._fresh(conf) or self.load(conf, force=False)
        key = snap.keys.get(kid) if snap else None
        if key is None and time.monotonic() - self._last_fetch >= conf.JWKS_REFRESH_COOLDOWN:
            snap = self.load(conf, force=True)
            key = snap.keys.get(kid) if snap else None
        return key

    def load(self, conf: SupaHybridSettings, *, force: bool) -> KeySnapshot | None:
        """Refresh (single-flight): shared cache first unless forced, then the endpoint."""
        waited_since = time.monotonic()
        with self._lock:
            if self._last_fetch >= waited_since or (not force and self._fresh(conf)):
                return self.snapshot  # another thread refreshed while this one waited
            if not force:
                shared = _shared_get(self.url, conf)
                if shared is not None and shared.age() < conf.JWKS_CACHE_TTL:
                    self.snapshot = shared
                    return shared
            if time.monotonic() < self._retry_after:
                return self._usable(conf)
            return self._fetch(conf)

    def _fetch(self, conf: SupaHybridSettings) -> KeySnapshot | None:
        try:
            raw = _fetch(self.url, conf.JWKS_FETCH_TIMEOUT)
        except JWKSError as exc:
            self._last_fetch = time.monotonic()
            self._retry_after = time.monotonic() + conf.JWKS_REFRESH_COOLDOWN
            usable = self._usable(conf)
            warn_every(
                logger,
                "jwks-fetch:" + self.url,
                "JWKS: fetching %s failed (%s); %s.",
                self.url,
                exc,
                "keeping the last good keys" if usable else "no usable keys",
            )
            return usable
        # Set once the fetch is over: threads that queued meanwhile reuse its result.
        self._last_fetch = time.monotonic()
        self.snapshot = KeySnapshot(_parse(raw), raw, time.time())
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


def status() -> KeySnapshot | None:
    """The keys this process holds (loading them from the shared cache or the network)."""
    conf = app_settings()
    url = jwks_url(conf)
    if url is None:
        return None
    keyset = _keyset(url)
    return keyset._fresh(conf) or keyset.load(conf, force=False)


def refresh() -> KeySnapshot:
    """Fetch the JWKS now, store it in the shared cache; raise :class:`JWKSError` on failure."""
    conf = app_settings()
    url = jwks_url(conf)
    if url is None:
        raise JWKSError("no JWKS URL: set SUPAHYBRID['SUPABASE_URL'] or ['JWKS_URL']")
    keyset = _keyset(url)
    with keyset._lock:
        raw = _fetch(url, conf.JWKS_FETCH_TIMEOUT)
        keyset._last_fetch = time.monotonic()
        keyset.snapshot = KeySnapshot(_parse(raw), raw, time.time())
        _shared_set(url, keyset.snapshot, conf)
        return keyset.snapshot


def forget_local() -> None:
    """Forget the keys this process holds (tests); the shared cache is left alone."""
    with _registry_lock:
        _registry.clear()


def purge() -> None:
    """Forget the keys in this process and in the shared cache; the next token refetches."""
    conf = app_settings()
    url = jwks_url(conf)
    forget_local()
    if url is not None:
        _shared_set(url, None, conf)
