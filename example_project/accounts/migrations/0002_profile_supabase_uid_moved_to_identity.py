"""The Supabase user id moves from the profile to the library's ``SupabaseIdentity``."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _copy_to_identities(apps: Any, schema_editor: Any) -> None:
    profile_model = apps.get_model("accounts", "UserProfile")
    identity_model = apps.get_model("django_supahybrid", "SupabaseIdentity")
    alias = schema_editor.connection.alias
    for user_id, sub in (
        profile_model.objects.using(alias)
        .filter(supabase_uid__isnull=False)
        .values_list("user_id", "supabase_uid")
    ):
        identity_model.objects.using(alias).get_or_create(user_id=user_id, defaults={"sub": sub})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("django_supahybrid", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(_copy_to_identities, migrations.RunPython.noop),
        migrations.RemoveField(model_name="userprofile", name="supabase_uid"),
    ]
