"""Supabase's Data API reaches no row of the example: every table it creates is locked down.

On Supabase, every table ``migrate`` creates in ``public`` is granted to the API roles
``anon`` and ``authenticated``, and PostgREST serves it to anyone holding the project's
anon key. The example's migrations lock each one down (``*_lock_down_data_api.py``, written
by ``manage.py supahybrid_lockdown``). This test migrates a fresh database shaped like a new
Supabase project, puts a row in every table, and tries what a browser could do.

The tables behind the tenant wall (``*_tenant_wall.py``) are the one exception: a member
reads their own organization's rows there, and writes none (``test_two_doors.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from accounts.models import Organization, Role, UserProfile
from campaigns.models import Campaign, Constituency, District, InteractionKind, VoterInteraction
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.checks import Tags, run_checks
from django.db import connections
from django.utils import timezone
from notifications.models import Notification, NotificationKind

from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import assert_data_api_closed, supabase_test_database

pytestmark = pytest.mark.django_db(transaction=True)

#: Where a member reads their own organization's rows (test_two_doors.py).
WALLED = {
    "accounts_organization",
    "campaigns_campaign",
    "campaigns_voterinteraction",
    "notifications_notification",
}


def _fill(alias: str) -> uuid.UUID:
    """One row at least in every table; the Supabase user id of the user who owns them."""
    user: Any = get_user_model().objects.db_manager(alias).create_user("volunteer@example.test")
    permission = Permission.objects.using(alias).first()
    group = Group.objects.using(alias).create(name="Volunteers")
    group.permissions.add(permission)
    user.groups.add(group)
    user.user_permissions.add(permission)
    Session.objects.using(alias).create(
        session_key="s" * 32, session_data="secret", expire_date=timezone.now()
    )
    organization = Organization.objects.using(alias).create(name="Organization")
    UserProfile.objects.using(alias).create(user=user, organization=organization, role=Role.ADMIN)
    sub = uuid.uuid4()
    SupabaseIdentity.objects.using(alias).create(user=user, sub=sub)
    district = District.objects.using(alias).create(name="North", code="N")
    constituency = Constituency.objects.using(alias).create(district=district, name="Harbour")
    campaign = Campaign.objects.using(alias).create(
        organization=organization,
        created_by=user,
        name="Campaign",
        target_district=district,
        target_constituency=constituency,
    )
    campaign.assigned_users.add(user)
    VoterInteraction.objects.using(alias).create(
        campaign=campaign, volunteer=user, kind=InteractionKind.choices[0][0]
    )
    Notification.objects.using(alias).create(
        recipient=user,
        organization=organization,
        kind=NotificationKind.choices[0][0],
        title="Hello",
    )
    return sub


def _tables_with_rows(alias: str) -> dict[str, int]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT count(*) FROM {quoted}")
            counts[table] = cursor.fetchone()[0]
    return counts


def test_the_data_api_reaches_no_row_of_any_table() -> None:
    with supabase_test_database() as alias:
        sub = _fill(alias)
        counts = _tables_with_rows(alias)
        assert {table for table, rows in counts.items() if not rows} == set()
        assert {"auth_user", "django_session", "django_migrations",
                "django_supahybrid_supabaseidentity", "campaigns_campaign_assigned_users",
                "notifications_notification"} <= set(counts)  # fmt: skip
        # Every table in the database, as anon and as a signed-in stranger; and as the very
        # user who owns the rows, every table but those behind the tenant wall.
        assert_data_api_closed(counts, using=alias)
        owner = {"sub": str(sub), "role": "authenticated"}
        assert_data_api_closed(set(counts) - WALLED, using=alias, claims=owner)
        # What `manage.py check --database default` says after migrate: nothing open.
        found = run_checks(tags=[Tags.database], databases=[alias])
        assert [m for m in found if m.id in ("supahybrid.E060", "supahybrid.I060")] == []
