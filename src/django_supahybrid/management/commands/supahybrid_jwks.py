"""``manage.py supahybrid_jwks show|refresh|purge``: inspect or reset the cached JWKS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_supahybrid.authentication import jwks


class Command(BaseCommand):
    help = (
        "Show the cached Supabase signing keys, refresh them from the JWKS endpoint now, "
        "or purge them from every process (after a key is revoked)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "refresh", "purge"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        url = jwks.jwks_url()
        if url is None:
            raise CommandError(
                "No JWKS URL: set SUPAHYBRID['SUPABASE_URL'] (or ['JWKS_URL']); "
                "JWKS_URL=False turns signing keys off."
            )
        shown = jwks.redacted_url(url)
        if action == "purge":
            try:
                jwks.purge()
            except jwks.JWKSError as exc:
                raise CommandError(f"Could not purge the keys of {shown}: {exc}") from None
            self.stdout.write(
                f"Purged the cached keys of {shown}; every process drops them, and the "
                "tokens verified with them, within AUTH_MAX_STALENESS seconds."
            )
            return
        try:
            snapshot = jwks.refresh() if action == "refresh" else jwks.status()
        except jwks.JWKSError as exc:
            raise CommandError(f"Could not fetch {shown}: {exc}") from None
        if snapshot is None:
            raise CommandError(f"No keys: {shown} could not be fetched (see the log).")
        self.stdout.write(f"{shown} (fetched {snapshot.age():.0f} s ago)")
        if not snapshot.keys:
            self.stdout.write("  no signing keys (a project on the legacy secret only)")
        for kid, key in sorted(snapshot.keys.items()):
            self.stdout.write(f"  {kid}  {key.algorithm_name}")
