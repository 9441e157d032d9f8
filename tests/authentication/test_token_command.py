"""``manage.py supahybrid_token``: development tokens, refused outside development."""

from __future__ import annotations

import uuid
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_supahybrid.authentication.tokens import verify_token
from django_supahybrid.models import SupabaseIdentity
from tests.authentication.conftest import Configure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("configure")]


def _mint(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("supahybrid_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    settings.DEBUG = True


def test_token_for_a_sub_verifies() -> None:
    sub = uuid.uuid4()
    token, _ = _mint("--sub", str(sub), "--lifetime", "60")
    claims = verify_token(token)
    assert claims.sub == sub
    assert claims.exp - claims.raw["iat"] == 60


def test_token_for_an_email_links_or_reuses_the_identity() -> None:
    user = User.objects.create(username="ada", email="ada@example.com")
    token, err = _mint("--email", "ada@example.com")
    identity = SupabaseIdentity.objects.get(user=user)
    assert "Linked 'ada@example.com'" in err
    assert verify_token(token).sub == identity.sub
    again, err = _mint("--email", "ada@example.com")
    assert verify_token(again).sub == identity.sub
    assert err == ""


def test_unknown_email_is_an_error() -> None:
    with pytest.raises(CommandError, match="No user with email"):
        _mint("--email", "nobody@example.com")


def test_refused_with_debug_off_unless_forced(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        _mint("--sub", str(uuid.uuid4()))
    token, _ = _mint("--sub", str(uuid.uuid4()), "--force")
    assert verify_token(token)


def test_lifetime_within_the_accepted_maximum(configure: Configure) -> None:
    configure(JWT_MAX_LIFETIME=600)
    with pytest.raises(CommandError, match="would be refused"):
        _mint("--sub", str(uuid.uuid4()), "--lifetime", "601")
    token, _ = _mint("--sub", str(uuid.uuid4()), "--lifetime", "600")
    assert verify_token(token)


def test_needs_a_secret(configure: Configure) -> None:
    configure(JWT_SECRET=None)
    with pytest.raises(CommandError, match="JWT_SECRET"):
        _mint("--sub", str(uuid.uuid4()))


def test_uses_the_configured_issuer_and_audience(configure: Configure) -> None:
    configure(JWT_ISSUER=False, JWT_AUDIENCE=["mobile", "web"])
    token, _ = _mint("--sub", str(uuid.uuid4()))
    claims = verify_token(token)
    assert claims.raw["aud"] == "mobile"


def test_custom_user_without_a_sub(configure: Configure) -> None:
    from tests.testapp.models import UUIDUser

    with override_settings(AUTH_USER_MODEL="testapp.UUIDUser"):
        configure(AUTH_USER_UUID_FIELD="supabase_id")
        sub = uuid.uuid4()
        UUIDUser.objects.create(supabase_id=sub, email="grace@example.com")
        token, _ = _mint("--email", "grace@example.com")
        assert verify_token(token).sub == sub
        UUIDUser.objects.create(supabase_id=None, email="linus@example.com")
        with pytest.raises(CommandError, match="has no Supabase user id"):
            _mint("--email", "linus@example.com")
