"""Organization resolvers named by dotted path in the tests."""

from __future__ import annotations

from typing import Any

from tests.testapp.models import Membership


def membership_ids(user: Any) -> list[int]:
    """A resolver returning a plain list of ids (one query of its own)."""
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


NOT_CALLABLE = 42
