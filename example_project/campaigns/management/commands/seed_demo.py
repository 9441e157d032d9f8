"""``manage.py seed_demo``: demo organizations, users, reference data and campaigns.

Running it again adds nothing that is already there (organizations and users are matched
by name and email, and campaigns are only added to organizations that have none), so it
is safe to run on every start. ``--reset`` deletes the demo data first.
"""

from __future__ import annotations

import json
import random
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

from accounts.models import Organization, Role, UserProfile
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from notifications.models import Notification, NotificationKind

from campaigns.models import Campaign, CampaignStatus, Constituency, District
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.realtime import publish

# Fixed, so that a user's Supabase UID is the same on every machine and every run.
_UID_NAMESPACE = uuid.UUID("6f1c2f6e-2d1b-4b8e-9c4e-5b0c8d6a7e21")
_ORG_PREFIX = "Demo Organization "
_EMAIL_DOMAIN = "demo.example.com"
_BATCH = 2000
_DISTRICTS = {
    "North": ["Harbour", "Hillside", "Millbrook"],
    "South": ["Riverside", "Oldtown", "Meadow"],
    "East": ["Sunrise", "Quarry", "Lakeshore"],
    "West": ["Sunset", "Forest", "Canal"],
}
_ROLE_CYCLE = [Role.ADMIN, Role.MANAGER, Role.VOLUNTEER]


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _role(index: int) -> str:
    """First user admin, second manager, the rest volunteers."""
    return _ROLE_CYCLE[min(index, len(_ROLE_CYCLE) - 1)]


def demo_email(org_number: int, index: int) -> str:
    return f"org{org_number}-user{index + 1}@{_EMAIL_DOMAIN}"


def demo_uid(email: str) -> uuid.UUID:
    return uuid.uuid5(_UID_NAMESPACE, email)


def _campaign(
    organization: Organization,
    number: int,
    constituency: Constituency,
    users: list[Any],
    rng: random.Random,
) -> Campaign:
    return Campaign(
        organization=organization,
        created_by=rng.choice(users[:2]),
        name=f"{constituency.name} outreach #{number}",
        description=f"Demo campaign {number} of {organization.name}.",
        status=rng.choice(CampaignStatus.values),
        target_district_id=constituency.district_id,
        target_constituency=constituency,
        vote_count=rng.randrange(1000),
    )


class Command(BaseCommand):
    help = "Create demo organizations, users (every role), districts and campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organizations", type=_positive, default=3, metavar="N")
        parser.add_argument(
            "--users-per-org",
            type=_positive,
            default=3,
            metavar="N",
            help="first an admin, then a manager, then volunteers (default 3)",
        )
        parser.add_argument(
            "--campaigns",
            type=int,
            default=10,
            metavar="N",
            help="campaigns per organization (default 10)",
        )
        parser.add_argument("--reset", action="store_true", help="delete the demo data first")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument(
            "--json", type=Path, metavar="PATH", help="write the organizations and users here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["campaigns"] < 0:
            raise CommandError("--campaigns must be 0 or more.")
        rng = random.Random(options["seed"])
        with transaction.atomic():
            if options["reset"]:
                self._reset()
            constituencies = self._reference_data()
            organizations = []
            for number in range(1, options["organizations"] + 1):
                organization, users = self._organization(number, options["users_per_org"])
                created = 0
                if not organization.campaigns.exists():
                    created = self._campaigns(
                        organization, users, options["campaigns"], constituencies, rng
                    )
                organizations.append((organization, users))
                self.stdout.write(
                    f"{organization.name}: {len(users)} users, {created} new campaigns"
                )
        if options["json"] is not None:
            self._write_json(options["json"], organizations)
            self.stdout.write(f"Wrote {options['json']}")

    def _reset(self) -> None:
        Organization.objects.filter(name__startswith=_ORG_PREFIX).delete()
        get_user_model().objects.filter(email__endswith=f"@{_EMAIL_DOMAIN}").delete()

    def _reference_data(self) -> list[Constituency]:
        for code, (name, constituency_names) in enumerate(_DISTRICTS.items(), start=1):
            district, _ = District.objects.get_or_create(name=name, defaults={"code": f"D{code}"})
            for constituency_name in constituency_names:
                Constituency.objects.get_or_create(district=district, name=constituency_name)
        return list(Constituency.objects.select_related("district"))

    def _organization(self, number: int, users_per_org: int) -> tuple[Organization, list[Any]]:
        organization, _ = Organization.objects.get_or_create(name=f"{_ORG_PREFIX}{number}")
        users = []
        for index in range(users_per_org):
            email = demo_email(number, index)
            user, created = get_user_model().objects.get_or_create(
                username=email, defaults={"email": email}
            )
            if created:
                # Demo users sign in through Supabase: no Django password.
                user.set_unusable_password()
                user.save(update_fields=["password"])
            UserProfile.objects.update_or_create(
                user=user, defaults={"organization": organization, "role": _role(index)}
            )
            # The library's identity row: tokens with this sub authenticate as this user.
            SupabaseIdentity.objects.update_or_create(user=user, defaults={"sub": demo_uid(email)})
            users.append(user)
        return organization, users

    def _campaigns(
        self,
        organization: Organization,
        users: list[Any],
        count: int,
        constituencies: list[Constituency],
        rng: random.Random,
    ) -> int:
        assigned = Campaign.assigned_users.through
        campaigns = (
            _campaign(organization, number, rng.choice(constituencies), users, rng)
            for number in range(1, count + 1)
        )
        created = 0
        while batch := list(islice(campaigns, _BATCH)):
            Campaign.objects.bulk_create(batch)
            assigned.objects.bulk_create(
                assigned(campaign_id=campaign.pk, user_id=rng.choice(users).pk)
                for campaign in batch
            )
            created += len(batch)
        if created:
            welcome = Notification.objects.bulk_create(
                Notification(
                    recipient=user,
                    organization=organization,
                    kind=NotificationKind.SYSTEM,
                    title=f"Welcome to {organization.name}",
                    body=f"{created} demo campaigns are ready.",
                )
                for user in users
            )
            publish(welcome, "INSERT")
        return created

    def _write_json(self, path: Path, organizations: list[tuple[Organization, list[Any]]]) -> None:
        data = {
            "organizations": [
                {
                    "id": str(organization.pk),
                    "name": organization.name,
                    "users": [
                        {
                            "email": user.email,
                            "supabase_uid": str(user.supabase_identity.sub),
                            "role": user.profile.role,
                        }
                        for user in users
                    ],
                }
                for organization, users in organizations
            ]
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
