"""``manage.py supahybrid_jwks show|refresh|purge``: inspect or reset the cached JWKS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_supahybrid.authentication import jwks


class Command(BaseCommand):
    help = (
        "Show the cached Supabase signing keys, refresh them from the JWKS endpoint now, "
        "or purge them from this process and the shared cache (after a key is revoked)."
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
        if action == "purge":
            jwks.purge()
            self.stdout.write(f"Purged the cached keys of {url}.")
            return
        try:
            snapshot = jwks.refresh() if action == "refresh" else jwks.status()
        except jwks.JWKSError as exc:
            raise CommandError(f"Could not fetch {url}: {exc}") from None
        if snapshot is None:
            raise CommandError(f"No keys: {url} could not be fetched (see the log).")
        self.stdout.write(f"{url} (fetched {snapshot.age():.0f} s ago)")
        if not snapshot.keys:
            self.stdout.write("  no signing keys (a project on the legacy secret only)")
        for kid, key in sorted(snapshot.keys.items()):
            self.stdout.write(f"  {kid}  {key.algorithm_name}")
