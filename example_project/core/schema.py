"""The OpenAPI description of the library's authentication: a Supabase access token."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

__all__ = ["SupabaseJWTScheme"]


class SupabaseJWTScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``Authorization: Bearer <Supabase access token>`` in the schema and Swagger UI."""

    target_class = "django_supahybrid.authentication.SupabaseJWTAuthentication"
    name = "supabaseAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Supabase Auth access token (the session's access_token).",
        }
