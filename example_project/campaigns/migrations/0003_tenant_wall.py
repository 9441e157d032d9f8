"""Two doors, one wall: campaigns and interactions behind row level security.

The policies come from each model's ``Scoping`` declaration; the reference data every
organization shares is granted to Django's requests only. Runs after the Data API
lock-down (0002); does nothing on a plain PostgreSQL.
"""

from __future__ import annotations

from django.db import migrations

from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_lock_down_data_api"),
        ("accounts", "0004_tenant_wall"),
    ]

    operations = [
        EnableTenantRLS("campaign"),
        EnableTenantRLS("voterinteraction"),
        GrantRequestRole("district"),
        GrantRequestRole("constituency"),
    ]
