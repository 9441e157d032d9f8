"""The optional revocation check against ``auth.sessions``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from django_supahybrid.authentication.revocation import SupabaseSessionAuthentication
from django_supahybrid.checks.authentication import check_session_table
from django_supahybrid.testing import install_supabase_test_schema, make_claims, mint_token
from tests.authentication.conftest import ISSUER, SECRET, SUPABASE_URL, Configure
from tests.support.roles import alias_as, ensure_role


class HighRiskView(APIView):
    authentication_classes = [SupabaseSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"session": str(request.auth.session_id)})


urlpatterns = [path("high-risk/", HighRiskView.as_view())]

pytestmark = [
    pytest.mark.django_db(databases=["default", "other"]),
    pytest.mark.urls(__name__),
]


@pytest.fixture
def sessions_table(configure: Configure) -> None:
    """``auth.sessions`` as Supabase creates it: RLS on, no policy, owned by its admin role."""
    configure(SESSION_CHECK_TTL=0)
    install_supabase_test_schema()


def _session(sub: uuid.UUID, not_after: str | None = None) -> uuid.UUID:
    session = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth.sessions (id, user_id, created_at, not_after) "
            "VALUES (%s, %s, now(), %s::timestamptz)",
            [session, sub, not_after],
        )
    return session


def _end(session: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth.sessions WHERE id = %s", [session])


def _token(sub: uuid.UUID, session: uuid.UUID | None, **claims: Any) -> str:
    return mint_token(make_claims(sub, issuer=ISSUER, session_id=session, **claims), secret=SECRET)


def _call(token: str) -> Any:
    return APIClient().get("/high-risk/", HTTP_AUTHORIZATION=f"Bearer {token}")


def _get(sub: uuid.UUID, session: uuid.UUID | None, **claims: Any) -> Any:
    return _call(_token(sub, session, **claims))


@pytest.mark.usefixtures("sessions_table")
def test_live_session_passes_and_an_ended_one_is_refused() -> None:
    sub = uuid.uuid4()
    session = _session(sub)
    assert _get(sub, session).status_code == 200
    _end(session)
    response = _get(sub, session)
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert 'error_description="session_revoked"' in response["WWW-Authenticate"]


@pytest.mark.usefixtures("sessions_table")
def test_expired_session_or_another_users_session_is_refused() -> None:
    sub = uuid.uuid4()
    assert _get(sub, _session(sub, not_after="2000-01-01T00:00:00Z")).status_code == 401
    assert _get(sub, _session(sub, not_after="2999-01-01T00:00:00Z")).status_code == 200
    assert _get(sub, _session(uuid.uuid4())).status_code == 401


@pytest.mark.usefixtures("sessions_table")
def test_token_without_session_id_is_refused() -> None:
    claims = make_claims(issuer=ISSUER)
    del claims["session_id"]
    token = mint_token(claims, secret=SECRET)
    response = APIClient().get("/high-risk/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["code"] == "session_revoked"


@pytest.mark.usefixtures("sessions_table")
def test_answer_is_cached_for_the_ttl(configure: Configure) -> None:
    configure(SESSION_CHECK_TTL=30)
    sub = uuid.uuid4()
    session = _session(sub)
    token = _token(sub, session)  # one token: a second one could miss the token cache
    assert _call(token).status_code == 200
    _end(session)
    with CaptureQueriesContext(connection) as queries:
        assert _call(token).status_code == 200  # still cached: no query at all
    assert len(queries) == 0


@pytest.mark.usefixtures("sessions_table")
def test_the_cached_answer_is_only_for_the_user_of_the_session(configure: Configure) -> None:
    configure(SESSION_CHECK_TTL=30)
    owner, other = uuid.uuid4(), uuid.uuid4()
    session = _session(owner)
    assert _get(owner, session).status_code == 200  # "alive" is cached for the owner
    response = _get(other, session)  # another user's token naming that session
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")


class _BrokenCache:
    """A cache whose reads (``fail_reads``) or writes fail like an unreachable Redis."""

    def __init__(self, fail_reads: bool) -> None:
        self.fail_reads = fail_reads

    def get(self, *args: Any) -> None:
        if self.fail_reads:
            raise ConnectionError("down")

    def set(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("down")


@pytest.mark.usefixtures("sessions_table")
@pytest.mark.parametrize("fail_reads", [True, False])
def test_cache_errors_fall_back_to_the_database(
    fail_reads: bool, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_supahybrid.authentication import revocation as sessions

    configure(SESSION_CHECK_TTL=30)
    sub = uuid.uuid4()
    session = _session(sub)
    monkeypatch.setattr(sessions, "caches", {"default": _BrokenCache(fail_reads)})
    assert _get(sub, session).status_code == 200
    _end(session)
    assert _get(sub, session).status_code == 401  # nothing was cached


def test_missing_table_is_503_not_500(configure: Configure) -> None:
    configure(SESSION_CHECK_DATABASE="other", SESSION_CHECK_TTL=0)
    sub = uuid.uuid4()
    response = _get(sub, uuid.uuid4())
    assert response.status_code == 503
    assert response.json() == {"detail": "Session could not be checked."}


def test_other_schemes_still_return_none() -> None:
    assert APIClient().get("/high-risk/").status_code == 401
    assert SUPABASE_URL


def _grant_sessions(role: str, *, select: bool = True) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA auth TO {role}")
        verb = "GRANT SELECT ON auth.sessions TO" if select else "REVOKE ALL ON auth.sessions FROM"
        cursor.execute(f"{verb} {role}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sessions_table")
def test_sessions_hidden_by_row_level_security_are_a_503_and_a_warning(
    configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    """Supabase's auth.sessions shows a role without BYPASSRLS no row, and no error."""
    role = ensure_role("supahybrid_test_sessions_reader")
    _grant_sessions(role)
    sub = uuid.uuid4()
    session = _session(sub)
    with alias_as(role) as alias:
        configure(SESSION_CHECK_DATABASE=alias, SESSION_CHECK_TTL=0)
        for _ in range(2):
            response = _get(sub, session)
            assert response.status_code == 503  # never session_revoked for everyone
            assert response.json() == {"detail": "Session could not be checked."}
        [message] = check_session_table(databases=[alias])
    logged = [r.getMessage() for r in caplog.records if "Supabase sessions" in r.getMessage()]
    assert len(logged) == 1  # rate-limited
    assert f"no policy for role '{role}'" in logged[0]
    assert "owner is 'supabase_auth_admin'" in logged[0]
    assert message.id == "supahybrid.W061"
    assert "SESSION_CHECK_DATABASE): auth.sessions has row level security on" in message.msg
    assert "BYPASSRLS" in message.hint


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sessions_table")
def test_a_role_that_bypasses_rls_or_has_a_policy_checks_sessions(configure: Configure) -> None:
    bypass = ensure_role("supahybrid_test_sessions_bypass", "NOLOGIN BYPASSRLS")
    reader = ensure_role("supahybrid_test_sessions_reader")
    _grant_sessions(bypass)
    _grant_sessions(reader)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE POLICY own_reader ON auth.sessions FOR SELECT TO {reader} USING (true)"
        )
    try:
        for role in (bypass, reader):
            sub = uuid.uuid4()
            session = _session(sub)
            with alias_as(role) as alias:
                configure(SESSION_CHECK_DATABASE=alias, SESSION_CHECK_TTL=0)
                assert check_session_table(databases=[alias]) == []
                assert _get(sub, session).status_code == 200
                _end(session)
                assert _get(sub, session).json()["code"] == "session_revoked"
                assert _get(sub, session).status_code == 401  # visibility is known by now
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP POLICY own_reader ON auth.sessions")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sessions_table")
def test_a_role_that_may_not_read_sessions_is_reported(configure: Configure) -> None:
    role = ensure_role("supahybrid_test_sessions_stranger")
    _grant_sessions(role, select=False)
    with alias_as(role) as alias:
        configure(SESSION_CHECK_DATABASE=alias)
        [message] = check_session_table(databases=[alias])
        assert _get(uuid.uuid4(), uuid.uuid4()).status_code == 503
    assert f"role '{role}' may not read auth.sessions" in message.msg


def test_session_table_check_is_quiet_without_auth_sessions(configure: Configure) -> None:
    configure(SESSION_CHECK_DATABASE="other")
    assert check_session_table(databases=["other"]) == []
    assert check_session_table(databases=["default"]) == []  # not the session alias
