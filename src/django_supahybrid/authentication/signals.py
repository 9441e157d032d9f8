"""Signals of the authentication component.

``supabase_user_created`` is sent when a Supabase user is seen for the first time and a
Django user is created for it (``SUPAHYBRID["AUTH_CREATE_USERS"]``), inside the same
transaction: a receiver that creates a profile or links an organization commits or rolls
back with the user. Arguments: ``sender`` (the user model), ``user`` and ``claims`` (the
verified `SupabaseClaims`, whose
``app_metadata`` only the service role can change, so it is safe for authorisation):

```python
from django.dispatch import receiver
from django_supahybrid.authentication.signals import supabase_user_created

@receiver(supabase_user_created)
def create_profile(sender, user, claims, **kwargs):
    org_id = claims.app_metadata.get("organization_id")
    Profile.objects.create(user=user, organization_id=org_id)
```

A receiver that raises rolls the user's creation back, and the exception propagates.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["supabase_user_created"]

supabase_user_created = Signal()
