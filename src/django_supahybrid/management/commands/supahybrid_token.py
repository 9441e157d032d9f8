"""``manage.py supahybrid_token``: a development access token for a user.

Signed with ``SUPAHYBRID["JWT_SECRET"]`` (HS256) and shaped like a Supabase Auth token, so
the API can be tried without a Supabase project. Refused when ``DEBUG`` is off unless
``--force`` is given: such a token is as good as a real one wherever the secret is trusted.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_supahybrid.authentication.tokens import expected_issuers
from django_supahybrid.authentication.users import subs_of_user
from django_supahybrid.conf import app_settings
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token


class Command(BaseCommand):
    help = "Print a development Supabase access token for a user, by --email or --sub."

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", help="an existing Django user's email")
        who.add_argument("--sub", type=uuid.UUID, help="a Supabase user id")
        parser.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
        parser.add_argument(
            "--force", action="store_true", help="mint even though DEBUG is off (dangerous)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to mint a token with DEBUG off; pass --force if meant.")
        conf = app_settings()
        if not conf.JWT_SECRET:
            raise CommandError("SUPAHYBRID['JWT_SECRET'] is not set: nothing to sign with.")
        if options["lifetime"] > conf.JWT_MAX_LIFETIME:
            raise CommandError(
                f"--lifetime {options['lifetime']} is longer than SUPAHYBRID['JWT_MAX_LIFETIME'] "
                f"({conf.JWT_MAX_LIFETIME} s): the token would be refused."
            )
        email = options["email"]
        sub = options["sub"] or self._sub_for_email(email)
        issuers = expected_issuers(conf)
        audience = conf.JWT_AUDIENCE if isinstance(conf.JWT_AUDIENCE, str) else conf.JWT_AUDIENCE[0]
        claims = make_claims(
            sub,
            issuer=issuers[0] if issuers else None,
            email=email or "",
            audience=audience,
            lifetime=options["lifetime"],
        )
        self.stdout.write(mint_token(claims, secret=conf.JWT_SECRET))

    def _sub_for_email(self, email: str) -> uuid.UUID:
        user_model = get_user_model()
        user = user_model._default_manager.filter(
            **{user_model.get_email_field_name(): email}
        ).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        subs = subs_of_user(user)
        if subs:
            return subs[0]
        if app_settings().AUTH_USER_UUID_FIELD:
            raise CommandError(f"User {email!r} has no Supabase user id.")
        identity = SupabaseIdentity.objects.create(user=user, sub=uuid.uuid4())
        self.stderr.write(f"Linked {email!r} to the new Supabase user id {identity.sub}.")
        return identity.sub
