"""The live demo page: one HTML page and its script, calling the example's API.

In debug mode the page lists the users that have a Supabase identity (``seed_demo``'s demo
users among them) and gets an access token for the one picked from ``POST /demo/token/``,
signed with the development secret as ``manage.py supahybrid_token`` signs it. With debug
off that endpoint and the user list do not exist (404, and the page asks for a token
from Supabase Auth instead), and ``/`` does not redirect here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from accounts.models import UserProfile
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from django_supahybrid.conf import app_settings
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token

__all__ = ["MAX_LIFETIME", "MIN_LIFETIME", "demo_asset", "demo_page", "demo_token", "root"]

# A negative lifetime mints a token that has already expired, to try the page's message.
MIN_LIFETIME = -3600
MAX_LIFETIME = 24 * 3600
_MAX_USERS = 100
_ASSETS_DIR = Path(__file__).resolve().parent / "assets"
_ASSETS = {"demo.js": "text/javascript", "demo.css": "text/css"}


def _require_debug() -> None:
    if not settings.DEBUG:
        raise Http404("Only in debug mode.")


def _demo_users() -> list[dict[str, str]]:
    """Users who can be given a token: a Supabase identity and an organization."""
    profiles = (
        UserProfile.objects.filter(
            user__supabase_identity__isnull=False, organization__isnull=False
        )
        .select_related("user", "organization")
        .order_by("organization__name", "user__email")[:_MAX_USERS]
    )
    return [
        {"email": p.user.email, "organization": p.organization.name, "role": p.role}
        for p in profiles
        if p.organization is not None
    ]


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    """``/``: to the demo page in debug mode, else nothing here."""
    _require_debug()
    return redirect("demo")


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """``/demo/``: the page; the user picker in debug mode only."""
    # The token endpoint is routed when the URLconf is loaded with DEBUG on.
    try:
        token_url = reverse("demo-token") if settings.DEBUG else None
    except NoReverseMatch:
        token_url = None
    debug = token_url is not None
    config: dict[str, Any] = {"debug": debug}
    context: dict[str, Any] = {"debug": debug, "config": config}
    if debug:
        context["demo_users"] = _demo_users()
        config["tokenUrl"] = token_url
        config["csrfToken"] = get_token(request)
    return render(request, "demo/index.html", context)


@require_GET
def demo_asset(request: HttpRequest, name: str) -> FileResponse:
    """The page's script and style sheet (no static-files setup needed under any server)."""
    if name not in _ASSETS:
        raise Http404(name)
    response = FileResponse((_ASSETS_DIR / name).open("rb"), content_type=_ASSETS[name])
    response["Cache-Control"] = "no-cache"
    return response


def _error(message: str, code: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=status)


@require_POST
def demo_token(request: HttpRequest) -> JsonResponse:
    """``POST /demo/token/`` ``{"email": ..., "lifetime": seconds}``: a development token.

    Debug mode only. ``lifetime`` defaults to 3600; from ``MIN_LIFETIME`` (already
    expired) to ``MAX_LIFETIME``.
    """
    _require_debug()
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error("The request body is not JSON.", "bad_request")
    if not isinstance(body, dict):
        return _error("The request body must be a JSON object.", "bad_request")
    email = body.get("email")
    if not isinstance(email, str) or not email:
        return _error("email: an email address is required.", "invalid")
    lifetime = body.get("lifetime", 3600)
    if (
        not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME
    ):
        return _error(
            f"lifetime: an integer from {MIN_LIFETIME} to {MAX_LIFETIME} (seconds).", "invalid"
        )
    secret = app_settings().JWT_SECRET
    if not secret:
        return _error("SUPAHYBRID['JWT_SECRET'] is not set: nothing to sign with.", "no_secret")
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.get_email_field_name(): email}).first()
    sub = (
        SupabaseIdentity.objects.filter(user=user).values_list("sub", flat=True).first()
        if user is not None
        else None
    )
    if sub is None:
        return _error("No user with a Supabase identity has this email.", "unknown_user", 404)
    claims = make_claims(sub, email=email, lifetime=lifetime)
    return JsonResponse(
        {
            "access_token": mint_token(claims, secret=secret),
            "token_type": "bearer",
            "expires_at": claims["exp"],
            "expires_in": claims["exp"] - int(time.time()),
        }
    )
