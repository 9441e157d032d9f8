"""``manage.py supahybrid_lockdown``: the migration it writes, and that migration applied."""

from __future__ import annotations

import importlib
import shutil
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

import django_supahybrid
from django_supahybrid.testing import assert_data_api_closed, supabase_test_database

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATIONS = Path(django_supahybrid.__file__).parent / "migrations"


@pytest.fixture
def writable_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The library's migrations, copied to a package of their own that the test may write to."""
    package = f"lockdown_migrations_{uuid.uuid4().hex[:8]}"
    target = tmp_path / package
    shutil.copytree(MIGRATIONS, target, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(MIGRATION_MODULES={"django_supahybrid": package}):
        yield target


def _lockdown(*args: str) -> str:
    out = StringIO()
    call_command("supahybrid_lockdown", *args, stdout=out)
    importlib.invalidate_caches()
    return out.getvalue()


def test_dry_run_covers_every_app_and_writes_nothing(writable_migrations: Path) -> None:
    output = _lockdown("--app", "django_supahybrid", "--dry-run")
    assert "0003_lock_down_data_api.py (" in output
    for label in ("auth.User", "auth.Group", "auth.Permission", "contenttypes.ContentType",
                  "sessions.Session"):  # fmt: skip
        assert f"LockDownModel(\n            '{label}'" in output or f"'{label}'" in output
    assert "supabaseidentity" not in output.lower()  # the library's own migration locks it
    assert "'django_migrations'" in output
    assert "'testapp_rtnote'" in output  # an app without migrations: by table name
    assert "('auth', '0012_alter_user_first_name_max_length')" in output
    assert "('django_supahybrid', '0002_lock_down_data_api')" in output
    assert not (writable_migrations / "0003_lock_down_data_api.py").exists()


def test_lock_downs_of_models_that_are_gone_cover_nothing(writable_migrations: Path) -> None:
    (writable_migrations / "0003_gone.py").write_text(
        "from django.db import migrations\n\n"
        "from django_supahybrid.dataapi import LockDownModel, LockDownTables\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('django_supahybrid', '0002_lock_down_data_api')]\n"
        "    operations = [LockDownModel('removedmodel'), LockDownTables(['django_session'])]\n"
    )
    output = _lockdown("--app", "django_supahybrid", "--dry-run")
    assert "0004_lock_down_data_api.py" in output
    assert "'sessions.Session'" not in output  # its table is covered by name


def test_app_labels_limit_what_is_covered(writable_migrations: Path) -> None:
    output = _lockdown("auth", "--app", "django_supahybrid", "--dry-run", "--name", "auth_only")
    assert "0003_auth_only.py" in output
    assert "'auth.User'" in output
    assert "contenttypes" not in output.split("operations", 1)[1]
    assert "django_migrations" not in output


def test_written_migration_closes_every_table_on_supabase(writable_migrations: Path) -> None:
    output = _lockdown("--app", "django_supahybrid")
    written = writable_migrations / "0003_lock_down_data_api.py"
    assert f"Wrote {written}" in output
    assert "alter default privileges in schema public revoke all on tables" in output
    assert _lockdown("--app", "django_supahybrid") == (
        "Nothing to lock down: every table is covered by a migration.\n"
    )
    with supabase_test_database() as alias:
        user = get_user_model().objects.db_manager(alias).create_superuser("root@x.test")
        Session.objects.using(alias).create(
            session_key="k" * 32, session_data="secret", expire_date=timezone.now()
        )
        assert user.pk
        assert_data_api_closed(using=alias)
        assert not [m for m in run_checks(tags=[Tags.database], databases=[alias])
                    if m.id == "supahybrid.E060"]  # fmt: skip


def test_errors_are_command_errors(writable_migrations: Path) -> None:
    with pytest.raises(CommandError, match="No installed app with label 'nope'"):
        _lockdown("nope", "--app", "django_supahybrid")
    with pytest.raises(CommandError, match="'testapp' has no migrations package"):
        _lockdown("--app", "testapp")
    (writable_migrations / "0002_other.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('django_supahybrid', '0001_initial')]\n"
    )
    with pytest.raises(CommandError, match=r"2 latest migrations .*makemigrations --merge"):
        _lockdown("--app", "django_supahybrid")
