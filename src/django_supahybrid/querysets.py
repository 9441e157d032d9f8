"""``django_supahybrid.querysets.OrganizationQuerySet``, the path projects write.

The queryset lives in `django_supahybrid.tenancy.querysets`.
"""

from __future__ import annotations

from django_supahybrid.tenancy.querysets import OrganizationQuerySet

__all__ = ["OrganizationQuerySet"]
