"""Customising one step of authentication without copying the rest, and the creation signal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from django_supahybrid.authentication import (
    SupabaseClaims,
    SupabaseJWTAuthentication,
    TokenError,
)
from django_supahybrid.authentication.signals import supabase_user_created
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token
from tests.authentication.conftest import ISSUER, SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("configure")]


def _request(header: dict[str, str]) -> Request:
    return Request(APIRequestFactory().get("/", **header))


def _token(**claims: Any) -> str:
    return mint_token(make_claims(issuer=ISSUER, **claims), secret=SECRET)


class _FromCookie(SupabaseJWTAuthentication):
    def get_raw_token(self, request: Request) -> str | None:
        return request.COOKIES.get("sb-access-token")


class _OnlyAal2(SupabaseJWTAuthentication):
    calls = 0

    def get_validated_token(self, raw_token: str) -> SupabaseClaims:
        type(self).calls += 1
        claims = super().get_validated_token(raw_token)
        if claims.aal != "aal2":
            raise TokenError("insufficient_aal")
        return claims


class _StaffOnly(SupabaseJWTAuthentication):
    def get_user(self, claims: SupabaseClaims) -> AbstractBaseUser:
        user = super().get_user(claims)
        if not user.is_staff:  # type: ignore[attr-defined]
            raise TokenError("unknown_user")
        return user


def test_get_raw_token_reads_another_place() -> None:
    sub = uuid.uuid4()
    request = APIRequestFactory().get("/")
    request.COOKIES["sb-access-token"] = _token(sub=sub)
    _user, claims = _FromCookie().authenticate(Request(request))  # type: ignore[misc]
    assert claims.sub == sub
    assert _FromCookie.cache_namespace == ""  # same verification: shares the cache
    assert _FromCookie().authenticate(_request({})) is None


def test_get_validated_token_adds_a_rule_and_keeps_its_own_cache() -> None:
    _OnlyAal2.calls = 0
    aal1 = _token(aal="aal1")
    with pytest.raises(AuthenticationFailed) as refused:
        _OnlyAal2().authenticate(_request({"HTTP_AUTHORIZATION": f"Bearer {aal1}"}))
    assert refused.value.detail["code"] == "insufficient_aal"  # type: ignore[attr-defined]
    # The default class accepts the same token, and caches it ...
    assert SupabaseJWTAuthentication().authenticate(
        _request({"HTTP_AUTHORIZATION": f"Bearer {aal1}"})
    )
    # ... which the subclass never reuses: its own step runs again.
    with pytest.raises(AuthenticationFailed, match="insufficient_aal"):
        _OnlyAal2().authenticate(_request({"HTTP_AUTHORIZATION": f"Bearer {aal1}"}))
    assert _OnlyAal2.calls == 2
    aal2 = _token(aal="aal2")
    for _ in range(3):
        assert _OnlyAal2().authenticate(_request({"HTTP_AUTHORIZATION": f"Bearer {aal2}"}))
    assert _OnlyAal2.calls == 3  # verified once, then served from its cache
    assert _OnlyAal2.cache_namespace.endswith("._OnlyAal2")


def test_get_user_decides_who_may_sign_in() -> None:
    sub = uuid.uuid4()
    header = {"HTTP_AUTHORIZATION": f"Bearer {_token(sub=sub)}"}
    with pytest.raises(AuthenticationFailed, match="unknown_user"):
        _StaffOnly().authenticate(_request(header))
    User.objects.filter(supabase_identity__sub=sub).update(is_staff=True)
    user, _ = _StaffOnly().authenticate(_request(header))  # type: ignore[misc]
    assert user.is_staff  # type: ignore[attr-defined]


def test_created_signal_runs_inside_the_creating_transaction() -> None:
    seen: list[tuple[Any, SupabaseClaims]] = []

    def link(sender: Any, user: Any, claims: SupabaseClaims, **kwargs: Any) -> None:
        assert SupabaseIdentity.objects.filter(user=user, sub=claims.sub).exists()
        seen.append((user, claims))

    sub = uuid.uuid4()
    supabase_user_created.connect(link)
    try:
        token = _token(sub=sub, app_metadata={"organization_id": 7})
        header = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        user, _ = SupabaseJWTAuthentication().authenticate(_request(header))  # type: ignore[misc]
        SupabaseJWTAuthentication().authenticate(_request(header))  # known now: no signal
    finally:
        supabase_user_created.disconnect(link)
    assert [(u.pk, c.app_metadata) for u, c in seen] == [(user.pk, {"organization_id": 7})]


def test_a_failing_receiver_rolls_the_new_user_back() -> None:
    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("no profile for this user")

    sub = uuid.uuid4()
    supabase_user_created.connect(refuse)
    try:
        with pytest.raises(RuntimeError):
            SupabaseJWTAuthentication().authenticate(
                _request({"HTTP_AUTHORIZATION": f"Bearer {_token(sub=sub)}"})
            )
    finally:
        supabase_user_created.disconnect(refuse)
    assert not SupabaseIdentity.objects.filter(sub=sub).exists()
    assert not User.objects.filter(username=str(sub)).exists()
