"""Every tenancy test sees organizations through memberships."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _membership_lookup(membership_lookup: None) -> None:
    """Applied to every test in this folder."""
