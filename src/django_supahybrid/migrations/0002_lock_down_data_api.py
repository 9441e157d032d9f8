"""Close the identity table to Supabase's Data API.

On Supabase, ``anon`` and ``authenticated`` get every privilege on the tables ``migrate``
creates in ``public``. Whoever could write this table could link their Supabase user id to
any Django user, an administrator's included. A no-op where those roles do not exist.
"""

from __future__ import annotations

from django.db import migrations

import django_supahybrid.dataapi.operations


class Migration(migrations.Migration):
    dependencies = [
        ("django_supahybrid", "0001_initial"),
    ]

    operations = [
        django_supahybrid.dataapi.operations.LockDownModel("supabaseidentity"),
    ]
