"""Two doors, one wall: each notification readable by its recipient only.

A member's action notifies the other members of the organization, so requests under the
wall may insert notifications for any member of the caller's organization
(``insert_organization``). Runs after the Data API lock-down (0002); does nothing on a
plain PostgreSQL.
"""

from __future__ import annotations

from django.db import migrations

from django_supahybrid.tenancy.operations import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_lock_down_data_api"),
        ("accounts", "0004_tenant_wall"),
    ]

    operations = [
        EnableTenantRLS("notification", insert_organization="organization"),
    ]
