"""``django_supahybrid.mixins.OrganizationScopedMixin``, the path projects write.

The mixin lives in `django_supahybrid.tenancy.mixins`.
"""

from __future__ import annotations

from django_supahybrid.tenancy.mixins import OrganizationScopedMixin

__all__ = ["OrganizationScopedMixin"]
