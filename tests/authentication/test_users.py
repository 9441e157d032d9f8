"""From claims to a Django user: one query, first-sight creation, races, custom models."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_supahybrid.authentication import token_cache as authcache
from django_supahybrid.authentication import users
from django_supahybrid.authentication.tokens import SupabaseClaims, TokenError
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims
from tests.authentication.conftest import ISSUER, Configure
from tests.testapp.models import HandleUser, ListedUser, UUIDUser

pytestmark = pytest.mark.usefixtures("configure")


def _claims(sub: uuid.UUID | None = None, **extra: Any) -> SupabaseClaims:
    return SupabaseClaims.from_payload(make_claims(sub, issuer=ISSUER, **extra))


def _refused(claims: SupabaseClaims) -> str:
    with pytest.raises(TokenError) as info:
        users.resolve_user(claims)
    return info.value.code


@pytest.mark.django_db
def test_first_sight_creates_user_and_identity() -> None:
    claims = _claims(email="new@example.com")
    user = users.resolve_user(claims)
    assert isinstance(user, User)
    assert user.username == str(claims.sub)
    assert user.email == "new@example.com"
    assert not user.has_usable_password()
    assert SupabaseIdentity.objects.get(sub=claims.sub).user_id == user.pk
    assert str(SupabaseIdentity.objects.get(sub=claims.sub)) == str(claims.sub)


@pytest.mark.django_db
def test_known_user_costs_one_query_and_no_write() -> None:
    claims = _claims()
    created = users.resolve_user(claims)
    with CaptureQueriesContext(connection) as queries:
        user = users.resolve_user(claims)
    assert user.pk == created.pk
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("SELECT")


@pytest.mark.django_db
def test_creation_can_be_turned_off(configure: Configure) -> None:
    configure(AUTH_CREATE_USERS=False)
    assert _refused(_claims()) == "unknown_user"
    assert not User.objects.exists()


@pytest.mark.django_db
def test_inactive_user_is_refused() -> None:
    claims = _claims()
    user = users.resolve_user(claims)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _refused(claims) == "user_inactive"


@pytest.mark.django_db
def test_accounts_are_never_linked_by_email() -> None:
    existing = User.objects.create(username="ada", email="ada@example.com")
    user = users.resolve_user(_claims(email="ada@example.com"))
    assert user.pk != existing.pk
    assert User.objects.count() == 2


@pytest.fixture
def uuid_user_model(configure: Configure) -> Iterator[type[UUIDUser]]:
    with override_settings(AUTH_USER_MODEL="testapp.UUIDUser"):
        configure(AUTH_USER_UUID_FIELD="supabase_id")
        authcache.connect_signals()
        yield UUIDUser


@pytest.mark.django_db
def test_custom_user_model_with_its_own_uuid_field(uuid_user_model: type[UUIDUser]) -> None:
    claims = _claims(email="grace@example.com")
    created = users.resolve_user(claims)
    assert isinstance(created, UUIDUser)
    assert (created.supabase_id, created.email) == (claims.sub, "grace@example.com")
    assert not SupabaseIdentity.objects.exists()
    with CaptureQueriesContext(connection) as queries:
        assert users.resolve_user(claims).pk == created.pk
    assert len(queries) == 1
    assert users.subs_of_user(created) == [claims.sub]
    assert users.resolve_user(_claims(email="")).get_username()  # no email: the id instead


@pytest.mark.django_db
def test_custom_user_unique_clash_is_refused_and_logged(
    uuid_user_model: type[UUIDUser], caplog: pytest.LogCaptureFixture
) -> None:
    UUIDUser.objects.create(supabase_id=uuid.uuid4(), email="taken@example.com")
    claims = _claims(email="taken@example.com")
    with caplog.at_level(logging.WARNING, "django_supahybrid.authentication.users"):
        assert _refused(claims) == "unknown_user"
    assert str(claims.sub) in caplog.records[0].getMessage()


@pytest.mark.django_db
def test_custom_user_without_email_field(configure: Configure) -> None:
    with override_settings(AUTH_USER_MODEL="testapp.HandleUser"):
        configure(AUTH_USER_UUID_FIELD="supabase_id")
        claims = _claims()
        user = users.resolve_user(claims)
        assert isinstance(user, HandleUser)
        assert user.handle == str(claims.sub)
        assert users.subs_of_user(HandleUser(handle="x")) == []


@pytest.mark.django_db
def test_the_lookup_is_compiled_once_and_reads_what_the_orm_reads() -> None:
    claims = _claims()
    created = users.resolve_user(claims)
    User.objects.filter(pk=created.pk).update(first_name="Ada")
    with CaptureQueriesContext(connection) as queries:
        found = users.resolve_user(claims)
    assert len(queries) == 1
    assert users._compiled[(User, "supabase_identity__sub", "default")] is not None
    expected = User.objects.get(pk=created.pk)
    assert type(found) is User
    assert found.__dict__.keys() == expected.__dict__.keys()
    assert all(
        getattr(found, name) == getattr(expected, name)
        for name in expected.__dict__
        if name != "_state"
    )
    assert (found._state.db, found._state.adding) == ("default", False)
    assert users._lookup(uuid.uuid4(), None) is None


@pytest.mark.django_db
def test_a_default_manager_of_its_own_is_asked_every_time(configure: Configure) -> None:
    with override_settings(AUTH_USER_MODEL="testapp.ListedUser"):
        configure(AUTH_USER_UUID_FIELD="supabase_id", AUTH_CREATE_USERS=False)
        claims = _claims()
        listed = ListedUser.objects.create(supabase_id=claims.sub, handle="ada")
        assert users.resolve_user(claims).pk == listed.pk
        assert users._compiled[(ListedUser, "supabase_id", "default")] is None
        ListedUser.objects.filter(pk=listed.pk).update(listed=False)
        assert _refused(claims) == "unknown_user"


@pytest.mark.django_db
def test_subs_of_user_uses_the_loaded_identity() -> None:
    claims = _claims()
    user = users.resolve_user(claims)
    loaded = SupabaseIdentity.objects.select_related("user").get(sub=claims.sub).user
    with CaptureQueriesContext(connection) as queries:
        assert users.subs_of_user(loaded) == [claims.sub]
    assert len(queries) == 0
    fresh = User.objects.get(pk=user.pk)
    assert users.subs_of_user(fresh) == [claims.sub]


@pytest.mark.django_db
def test_saves_and_deletes_invalidate_after_commit(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    seen: list[uuid.UUID] = []
    monkeypatch.setattr(authcache, "invalidate_sub", seen.append)
    claims = _claims()
    with django_capture_on_commit_callbacks(execute=True):
        user = users.resolve_user(claims)  # user save + identity save
    assert seen == [claims.sub]  # the new user had no identity yet when saved
    seen.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user.first_name = "Ada"
        user.save()
    assert seen == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert seen == [claims.sub]
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert set(seen) == {claims.sub}  # from the identity and the user (harmless twice)


@pytest.mark.django_db
def test_custom_user_save_invalidates(
    uuid_user_model: type[UUIDUser],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seen: list[uuid.UUID] = []
    monkeypatch.setattr(authcache, "invalidate_sub", seen.append)
    sub = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        UUIDUser.objects.create(supabase_id=sub, email="x@example.com")
    assert seen == [sub]


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_create_exactly_one_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claims = _claims()
    threads_count = 8
    all_missed = threading.Barrier(threads_count)
    real_lookup = users._lookup
    first_lookup_done: set[int] = set()

    def lookup(sub: uuid.UUID, field: str | None) -> Any:
        found = real_lookup(sub, field)
        if threading.get_ident() not in first_lookup_done:
            first_lookup_done.add(threading.get_ident())
            all_missed.wait(timeout=10)  # every thread has missed before any creates
        return found

    monkeypatch.setattr(users, "_lookup", lookup)
    results: list[int] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            results.append(users.resolve_user(claims).pk)
        except BaseException as exc:  # pragma: no cover (reported by the assertion below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == threads_count
    assert len(set(results)) == 1
    assert User.objects.count() == 1
    assert SupabaseIdentity.objects.filter(sub=claims.sub).count() == 1


PROFILE_PATH = "supabase_profile__supabase_uid"


@pytest.fixture
def profile_path(configure: Configure) -> None:
    """The Supabase id kept on a profile row one-to-one with the user."""
    configure(AUTH_USER_UUID_FIELD=PROFILE_PATH)
    authcache.connect_signals()


def _profiled_user(sub: uuid.UUID) -> User:
    from tests.testapp.models import SupabaseProfile

    user = User.objects.create(username=f"profiled-{sub}")
    SupabaseProfile.objects.create(user=user, supabase_uid=sub)
    return user


@pytest.mark.django_db
@pytest.mark.usefixtures("profile_path")
def test_id_on_a_profile_costs_one_query() -> None:
    sub = uuid.uuid4()
    user = _profiled_user(sub)
    with CaptureQueriesContext(connection) as queries:
        assert users.resolve_user(_claims(sub)).pk == user.pk
    assert len(queries) == 1
    assert users.subs_of_user(User.objects.get(pk=user.pk)) == [sub]


@pytest.mark.django_db
@pytest.mark.usefixtures("profile_path")
def test_id_on_a_profile_is_never_created() -> None:
    assert _refused(_claims()) == "unknown_user"  # only the project can create its profiles
    assert not User.objects.exists()
    assert users.subs_of_user(User.objects.create(username="no-profile")) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("profile_path")
def test_profile_saves_and_deletes_invalidate(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.testapp.models import SupabaseProfile

    seen: list[uuid.UUID] = []
    monkeypatch.setattr(authcache, "invalidate_sub", seen.append)
    sub = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        user = _profiled_user(sub)
    assert seen == [sub]
    seen.clear()
    profile = SupabaseProfile.objects.get(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        profile.supabase_uid = None
        profile.save()
    assert seen == []  # no id to invalidate any more
    with django_capture_on_commit_callbacks(execute=True):
        SupabaseProfile.objects.create(user=User.objects.create(username="x"), supabase_uid=sub)
        SupabaseProfile.objects.get(supabase_uid=sub).delete()
    assert seen == [sub, sub]


@pytest.mark.parametrize(
    ("path", "holder"),
    [
        (PROFILE_PATH, "SupabaseProfile"),
        ("supabase_id", None),
        ("nope__supabase_uid", None),
        ("email__x", None),
        ("groups__id", None),
    ],
)
def test_connecting_signals_never_fails_on_a_bad_path(
    path: str, holder: str | None, configure: Configure
) -> None:
    configure(AUTH_USER_UUID_FIELD=path)
    authcache.connect_signals()
    found = authcache._id_holder()
    assert (found.__name__ if found else None) == holder


def test_connecting_signals_with_invalid_settings(settings: Any) -> None:
    settings.SUPAHYBRID = {"BOGUS": 1}
    assert authcache._id_holder() is None
