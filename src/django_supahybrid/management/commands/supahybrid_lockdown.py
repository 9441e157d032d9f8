"""``manage.py supahybrid_lockdown --app <label>``: write the migration that closes the Data API.

Every table of the project (Django's own ``django.contrib`` tables included) that no
lock-down operation covers yet gets one, in a new migration of the app given with
``--app``. ``--dry-run`` prints it instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.utils import run_formatters
from django.db.migrations.writer import MigrationWriter

from django_supahybrid.dataapi.writer import DEFAULT_NAME, LockDownError, lock_down_migration

DEFAULT_PRIVILEGES_ADVICE = """\
Tables created later still get the API roles' default privileges on Supabase. Lock new
models down the same way (supahybrid.E060 reports any left open), or stop the grants for
tables the migrating role creates from now on, once, as that role (postgres):

  alter default privileges in schema public revoke all on tables from anon, authenticated;
  alter default privileges in schema public revoke all on sequences from anon, authenticated;
  alter default privileges in schema public revoke all on functions from anon, authenticated;
"""


class Command(BaseCommand):
    help = (
        "Write a migration that enables row level security on every table of the project "
        "and revokes the privileges of Supabase's API roles (anon, authenticated) on them, "
        "so that the Data API cannot reach them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "app_labels",
            nargs="*",
            metavar="app_label",
            help="Lock down only these apps' tables (default: every installed app's, and "
            "django_migrations).",
        )
        parser.add_argument(
            "--app",
            required=True,
            help="The app (with migrations) whose migrations package gets the new migration.",
        )
        parser.add_argument("--name", default=DEFAULT_NAME, help="The migration's name.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the migration instead of writing it.",
        )

    def handle(
        self, *args: Any, app_labels: list[str], app: str, name: str, dry_run: bool, **options: Any
    ) -> None:
        try:
            migration = lock_down_migration(app, app_labels, name)
        except LockDownError as exc:
            raise CommandError(str(exc)) from None
        if migration is None:
            self.stdout.write("Nothing to lock down: every table is covered by a migration.")
            return
        writer = MigrationWriter(migration)
        tables = len(migration.operations)
        if dry_run:
            self.stdout.write(f"# {writer.path} ({tables} operations)\n")
            self.stdout.write(writer.as_string())
            return
        Path(writer.path).write_text(writer.as_string())
        run_formatters([writer.path])  # as makemigrations does (black, when installed)
        self.stdout.write(f"Wrote {writer.path} ({tables} operations); apply it with migrate.")
        self.stdout.write(DEFAULT_PRIVILEGES_ADVICE)
