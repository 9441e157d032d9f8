"""Supabase access tokens in, Django users out: verified, cached, revocable.

Import after Django is set up (user resolution reads the identity model). The pieces:

- `SupabaseJWTAuthentication` and `SupabaseAuthenticationMiddleware`
  (``authenticators``): the DRF class and the plain-Django middleware;
- `verify_token` (``tokens``): signature and claims, HS256 or the project's JWKS;
- ``jwks``: the signing-key set (cache, single-flight refresh, purge);
- ``token_cache``: the two-level token cache and the receivers that invalidate it;
- `resolve_user` (``users``): claims to a Django user, created on first sight;
- `SupabaseSessionAuthentication` (``revocation``): refuses logged-out sessions.
"""

from __future__ import annotations

from django_supahybrid.authentication.authenticators import (
    SupabaseAuthenticationMiddleware,
    SupabaseJWTAuthentication,
    authenticate_request,
    bearer_token,
    get_claims,
)
from django_supahybrid.authentication.revocation import (
    SessionCheckUnavailable,
    SupabaseSessionAuthentication,
    session_is_active,
)
from django_supahybrid.authentication.token_cache import invalidate_sub
from django_supahybrid.authentication.tokens import SupabaseClaims, TokenError, verify_token
from django_supahybrid.authentication.users import resolve_user, subs_of_user

__all__ = [
    "SessionCheckUnavailable",
    "SupabaseAuthenticationMiddleware",
    "SupabaseClaims",
    "SupabaseJWTAuthentication",
    "SupabaseSessionAuthentication",
    "TokenError",
    "authenticate_request",
    "bearer_token",
    "get_claims",
    "invalidate_sub",
    "resolve_user",
    "session_is_active",
    "subs_of_user",
    "verify_token",
]
