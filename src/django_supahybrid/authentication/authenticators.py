"""Supabase access-token authentication for DRF views and for plain Django views.

List `SupabaseJWTAuthentication` first in
``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``. For plain Django views, add
`SupabaseAuthenticationMiddleware` after Django's ``AuthenticationMiddleware``: it
sets ``request.user`` lazily from the same cached code path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from django_supahybrid._compat import django_request
from django_supahybrid.authentication.token_cache import authenticate_token
from django_supahybrid.authentication.tokens import SupabaseClaims, TokenError, verify_token
from django_supahybrid.authentication.users import resolve_user

__all__ = [
    "SupabaseAuthenticationMiddleware",
    "SupabaseJWTAuthentication",
    "authenticate_request",
    "bearer_token",
    "get_claims",
]

_ERROR_ATTR = "_supahybrid_error"
_RESULT_ATTR = "_supahybrid_result"


def bearer_token(meta: Mapping[str, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header in ``meta``.

    ``None`` when there is no such header or it uses another scheme (so other
    authentication classes can run); `TokenError` (``malformed_header``) when the Bearer
    header has no token or more than one word.
    """
    header = meta.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str):
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = rest.lstrip()
    # Other whitespace inside fails verification as "malformed"; spaces are common enough
    # (a pasted "Bearer <token> <junk>") to deserve the header's own code.
    if not token or " " in token:
        raise TokenError("malformed_header")
    return token


class SupabaseJWTAuthentication(BaseAuthentication):
    """DRF authentication with Supabase access tokens: verified, cached, rotation-aware.

    ``request.user`` is the Django user, ``request.auth`` a
    `SupabaseClaims`. A refused token
    answers 401 with ``WWW-Authenticate: Bearer`` and a body
    ``{"detail": <message>, "code": <code>}``.

    Each step can be overridden in a subclass: `get_raw_token` (where the token
    comes from), `get_validated_token` (token to claims) and `get_user`
    (claims to user). The last two run only when the token is not cached; a subclass that
    overrides either gets cache entries of its own.
    """

    realm = "api"
    #: Keeps cached results apart when a subclass verifies or resolves users its own way.
    cache_namespace = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own_steps = (
            cls.get_validated_token is not SupabaseJWTAuthentication.get_validated_token
            or cls.get_user is not SupabaseJWTAuthentication.get_user
        )
        if own_steps and "cache_namespace" not in cls.__dict__:
            cls.cache_namespace = f":{cls.__module__}.{cls.__qualname__}"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, SupabaseClaims] | None:
        try:
            token = self.get_raw_token(request)
            if token is None:
                return None
            if not self.cache_namespace:  # the default steps: the shortest path
                done: tuple[Any, SupabaseClaims | None] | None = getattr(
                    django_request(request), _RESULT_ATTR, None
                )
                if done is not None and done[1] is not None and self._header_token:
                    return done[0], done[1]  # a middleware authenticated this token already
                return authenticate_token(token)
            return authenticate_token(
                token,
                verify=self.get_validated_token,
                resolve=self.get_user,
                namespace=self.cache_namespace,
            )
        except TokenError as exc:
            raise self.refusal(request, exc) from None

    @property
    def _header_token(self) -> bool:
        return type(self).get_raw_token is SupabaseJWTAuthentication.get_raw_token

    def get_raw_token(self, request: Request) -> str | None:
        """The access token of the request, ``None`` to leave the request to other classes.

        Reads ``Authorization: Bearer <token>``; raise
        `TokenError` for a header that is
        this scheme's but malformed.
        """
        # The Django request's META directly: DRF's attribute proxy costs more than the rest.
        return bearer_token(django_request(request).META)

    def get_validated_token(self, raw_token: str) -> SupabaseClaims:
        """Verify ``raw_token`` and return its claims (called on a cache miss only)."""
        return verify_token(raw_token)

    def get_user(self, claims: SupabaseClaims) -> AbstractBaseUser:
        """The active Django user for verified ``claims`` (called on a cache miss only)."""
        return resolve_user(claims)

    def refusal(self, request: Request, error: TokenError) -> AuthenticationFailed:
        """The 401 for ``error``; remembers its code for the ``WWW-Authenticate`` header."""
        setattr(request, _ERROR_ATTR, error.code)
        return AuthenticationFailed(
            detail={"detail": str(error.message), "code": error.code}, code=error.code
        )

    def authenticate_header(self, request: Request) -> str:
        code = getattr(request, _ERROR_ATTR, None)
        if code is None:
            return f'Bearer realm="{self.realm}"'
        error = "invalid_request" if code == "malformed_header" else "invalid_token"
        return f'Bearer realm="{self.realm}", error="{error}", error_description="{code}"'


def _resolve(request: HttpRequest) -> tuple[Any, SupabaseClaims | None]:
    result: tuple[Any, SupabaseClaims | None] | None = getattr(request, _RESULT_ATTR, None)
    if result is None:
        try:
            token = bearer_token(request.META)
            result = authenticate_token(token) if token else (AnonymousUser(), None)
        except TokenError as exc:
            setattr(request, _ERROR_ATTR, exc.code)
            result = (AnonymousUser(), None)
        setattr(request, _RESULT_ATTR, result)
    return result


def get_claims(request: HttpRequest) -> SupabaseClaims | None:
    """The verified claims of the request's Bearer token (after the middleware), or ``None``."""
    return _resolve(request)[1]


def authenticate_request(request: HttpRequest) -> tuple[Any, SupabaseClaims | None]:
    """The user and claims of the request's Bearer token, resolved once per request.

    ``(AnonymousUser, None)`` without a Bearer token or with a refused one.
    """
    return _resolve(request)


class SupabaseAuthenticationMiddleware:
    """Set ``request.user`` lazily from an ``Authorization: Bearer`` Supabase token.

    Requests without a Bearer header keep the user Django's ``AuthenticationMiddleware``
    set (sessions); a refused token yields ``AnonymousUser``, never an error page.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.strip().partition(" ")[0].lower() == "bearer":
            request.user = SimpleLazyObject(lambda: _resolve(request)[0])  # type: ignore[assignment]
        return self.get_response(request)
