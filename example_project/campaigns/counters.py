"""The vote counter: one atomic ``UPDATE ... SET vote_count = vote_count + 1``."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet


def increment_votes(campaigns: QuerySet[Any], pk: Any) -> int | None:
    """Add one vote to the campaign ``pk`` of ``campaigns``; its new count, or ``None``.

    ``None`` means the campaign is not in ``campaigns`` (another organization's, or gone).
    The read happens in the same transaction as the update, while the row is still locked,
    so the value returned is exactly the one this vote produced.
    """
    with transaction.atomic(using=campaigns.db):
        if not campaigns.filter(pk=pk).update(vote_count=F("vote_count") + 1):
            return None
        return int(campaigns.filter(pk=pk).values_list("vote_count", flat=True).get())
