"""The tenant wall on the test models: policies applied, users with Supabase identities."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.tenancy.wall import forget_supabase_shape
from django_supahybrid.testing.supabase import install_supabase_test_schema
from tests.support.tenancy import MEMBERSHIPS, World
from tests.support.wall import backwards, forwards, operations


@pytest.fixture
def wall_settings(configure: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Test tokens accepted, organizations through memberships."""
    return configure(ORGANIZATION_LOOKUP=MEMBERSHIPS)


@pytest.fixture
def subs(world: World) -> dict[str, uuid.UUID]:
    """A Supabase identity for each user of the world."""
    result = {}
    for name in ("alice", "bob", "carol", "nobody", "root"):
        sub = uuid.uuid4()
        SupabaseIdentity.objects.create(user=getattr(world, name), sub=sub)
        result[name] = sub
    return result


@pytest.fixture
def walled(wall_settings: dict[str, Any], subs: dict[str, uuid.UUID]) -> Iterator[None]:
    """The Supabase test schema, and every test model behind the wall (reversed after)."""
    install_supabase_test_schema()
    done = operations()
    for operation in done:
        forwards(operation)
    yield
    for operation in reversed(done):
        backwards(operation)
    forget_supabase_shape()  # a rolled-back test takes the schema away again
