"""drf-spectacular: the Bearer scheme of `SupabaseJWTAuthentication` in OpenAPI.

Loaded by the app's ``ready()`` when ``drf_spectacular`` is in ``INSTALLED_APPS``; nothing
to configure. Views authenticated by ``SupabaseJWTAuthentication`` (or a subclass) then
declare ``security: [{supabaseAccessToken: []}]``, and Swagger UI's "Authorize" button asks
for the access token.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

__all__ = ["SupabaseJWTScheme"]


class SupabaseJWTScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``Authorization: Bearer <Supabase access token>`` as an OpenAPI security scheme."""

    target_class = "django_supahybrid.authentication.SupabaseJWTAuthentication"
    match_subclasses = True
    name = "supabaseAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Supabase Auth access token (the session's access_token).",
        }
