"""Access tokens for the seeded demo users, signed as Supabase Auth signs them (HS256)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import jwt

#: The example's development secret (config/settings.py), used when none is set.
DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


def mint(user: dict[str, Any], lifetime: int = 3600) -> str:
    """A token for a ``seed_demo --json`` user, with the claims Supabase Auth issues.

    The secret is ``SUPABASE_JWT_SECRET`` and the issuer ``<SUPABASE_URL>/auth/v1``, from
    the environment, as the example reads them.
    """
    supabase_url = os.environ.get("SUPABASE_URL", "http://127.0.0.1:54321").rstrip("/")
    now = int(time.time())
    claims = {
        "iss": f"{supabase_url}/auth/v1",
        "sub": user["supabase_uid"],
        "aud": "authenticated",
        "exp": now + lifetime,
        "iat": now,
        "email": user["email"],
        "role": "authenticated",
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    secret = os.environ.get("SUPABASE_JWT_SECRET") or DEV_JWT_SECRET
    return jwt.encode(claims, secret, algorithm="HS256")
