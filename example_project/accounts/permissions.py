"""Who may do what with campaigns, by role within the caller's organization.

| action | admin | manager | volunteer |
|---|---|---|---|
| list, retrieve | yes | yes | yes |
| vote, list and record interactions | yes | yes | yes |
| create, update (PUT/PATCH) | yes | yes | no |
| delete | yes | no | no |

A user without an organization gets 403 on every campaign endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission

from accounts.models import Role, profile_of

if TYPE_CHECKING:
    from rest_framework.request import Request

_EVERYONE = frozenset(Role.values)
_EDITORS = frozenset({Role.ADMIN, Role.MANAGER})

CAMPAIGN_RULES: dict[str, frozenset[str]] = {
    "list": _EVERYONE,
    "retrieve": _EVERYONE,
    "vote": _EVERYONE,
    "interactions": _EVERYONE,
    "create": _EDITORS,
    "update": _EDITORS,
    "partial_update": _EDITORS,
    "destroy": frozenset({Role.ADMIN}),
}


class IsOrganizationMember(BasePermission):
    """The caller belongs to an organization."""

    message = "You do not belong to an organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        profile = profile_of(request.user)
        return profile is not None and profile.organization_id is not None


class CampaignRolePermission(BasePermission):
    """The caller's role allows the view's action (see ``CAMPAIGN_RULES``)."""

    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        action = getattr(view, "action", None)
        if action is None or action == "metadata":
            return True  # an unsupported method (405 follows) or OPTIONS
        profile = profile_of(request.user)
        allowed = CAMPAIGN_RULES.get(action, frozenset())
        return profile is not None and profile.role in allowed
