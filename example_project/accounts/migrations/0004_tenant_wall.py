"""Two doors, one wall: organizations behind row level security, shared tables granted.

Runs after the Data API lock-down (0003), which it opens again only where a policy says
so. Where the database is not shaped like Supabase's (a plain PostgreSQL) it does nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_lock_down_data_api"),
        ("django_supahybrid", "0002_lock_down_data_api"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # A member sees their own organization, through either door.
        EnableTenantRLS("organization", organization="pk"),
        # Read by Django's requests under the wall (roles, members to assign and notify);
        # the Data API still reaches neither.
        GrantRequestRole("userprofile"),
        GrantRequestRole(settings.AUTH_USER_MODEL),
    ]
