"""Each scoping and pagination check id, with the configuration that triggers it."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps.registry import Apps
from django.core.checks import Error, Warning, run_checks
from django.db import models
from django.test.utils import isolate_apps
from pytest_django.fixtures import Settings as SettingsWrapper

from django_supahybrid.checks.tenancy import check_scoping
from django_supahybrid.querysets import OrganizationQuerySet
from tests.support.tenancy import MEMBERSHIPS, membership_lookup, world  # noqa: F401  (fixtures)
from tests.testapp.models import Organization, Tag

pytestmark = pytest.mark.usefixtures("membership_lookup")


def _ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def _scoped_model(name: str, scoping: type | None, **fields: Any) -> type[models.Model]:
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "testapp"}),
        "objects": OrganizationQuerySet.as_manager(),
        "organization": models.ForeignKey(Organization, on_delete=models.CASCADE),
        "name": models.CharField(max_length=10),
        **fields,
    }
    if scoping is not None:
        attrs["Scoping"] = scoping
    return type(name, (models.Model,), attrs)


def _check(apps: Apps) -> list[Any]:
    return check_scoping(app_configs=[apps.get_app_config("testapp")])


def test_the_test_models_are_valid() -> None:
    assert check_scoping() == []


def test_e020_scoped_model_without_declaration() -> None:
    with isolate_apps("tests.testapp") as apps:
        model = _scoped_model("NoScoping", None)
        [message] = _check(apps)
        assert isinstance(message, Error)
        assert message.id == "supahybrid.E020"
        assert message.obj is model
        assert "testapp.NoScoping" in message.msg


def test_plain_models_are_not_checked() -> None:
    with isolate_apps("tests.testapp") as apps:
        type(
            "Plain",
            (models.Model,),
            {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "testapp"})},
        )
        assert _check(apps) == []


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("nope", "has no field named 'nope'"),
        ("name__organization", "is not a relation"),
        ("children__organization", "can reach several rows"),
    ],
)
def test_e021_unusable_organization_path(path: str, problem: str) -> None:
    with isolate_apps("tests.testapp") as apps:
        parent = _scoped_model("Parent", type("Scoping", (), {"organization": path}))
        _scoped_model(
            "Child",
            type("Scoping", (), {"user": "parent__organization"}),
            parent=models.ForeignKey(parent, on_delete=models.CASCADE, related_name="children"),
        )
        messages = _check(apps)
        assert _ids(messages) == ["supahybrid.E021"]
        assert problem in messages[0].msg
        assert f"Scoping.organization {path!r}" in messages[0].msg


def test_e022_invalid_relations() -> None:
    with isolate_apps("tests.testapp") as apps:
        scoping = type(
            "Scoping",
            (),
            {
                "organization": "organization",
                "select_related": ("organization", "name", "missing", "tags"),
                "prefetch_related": ("tags", "name", models.Prefetch("nothing")),
            },
        )
        _scoped_model("Bad", scoping, tags=models.ManyToManyField(Tag))
        messages = _check(apps)
        assert _ids(messages) == ["supahybrid.E022"] * 5
        text = "\n".join(m.msg for m in messages)
        assert "select_related entry 'name' is invalid: it does not end at a relation" in text
        assert "select_related entry 'missing'" in text
        assert "select_related entry 'tags' is invalid" in text
        assert "prefetch_related entry 'name' is invalid" in text
        assert "prefetch_related entry 'nothing' is invalid" in text


def test_e027_prefetch_with_a_plain_queryset_of_a_scoped_model() -> None:
    with isolate_apps("tests.testapp") as apps:
        scoping = type(
            "Scoping",
            (),
            {
                "organization": "organization",
                "prefetch_related": (
                    models.Prefetch("tags", queryset=models.QuerySet(Tag)),
                    models.Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="t"),
                    models.Prefetch("organization", queryset=models.QuerySet(Organization)),
                    models.Prefetch("tags"),
                    "tags",
                ),
            },
        )
        model = _scoped_model("PlainPrefetch", scoping, tags=models.ManyToManyField(Tag))
        messages = _check(apps)
        assert _ids(messages) == ["supahybrid.E027"] * 2
        assert all(m.obj is model for m in messages)
        assert "Prefetch('tags') has a plain QuerySet of testapp.Tag" in messages[0].msg
        assert "Tag.objects" in messages[0].hint
        assert "Prefetch('organization')" in messages[1].msg


@pytest.mark.parametrize(
    ("resolver", "problem"),
    [
        ("tests.support.resolvers.missing", "cannot be imported"),
        ("tests.support.resolvers.NOT_CALLABLE", "is not callable"),
    ],
)
def test_e023_bad_resolver(settings: SettingsWrapper, resolver: str, problem: str) -> None:
    settings.SUPAHYBRID = {"ORGANIZATION_RESOLVER": resolver}
    [message] = check_scoping()
    assert message.id == "supahybrid.E023"
    assert problem in message.msg


def test_valid_resolver(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"ORGANIZATION_RESOLVER": "tests.support.resolvers.membership_ids"}
    assert check_scoping() == []


def test_e024_bad_lookup(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": "nope__organization"}
    [message] = check_scoping()
    assert message.id == "supahybrid.E024"
    assert "'nope__organization'" in message.msg


def test_e025_both_lookup_and_resolver(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {
        "ORGANIZATION_LOOKUP": MEMBERSHIPS,
        "ORGANIZATION_RESOLVER": "tests.support.resolvers.membership_ids",
    }
    assert _ids(check_scoping()) == ["supahybrid.E025"]


def test_e026_page_sizes(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {
        "ORGANIZATION_LOOKUP": MEMBERSHIPS,
        "PAGINATION_PAGE_SIZE": 0,
        "PAGINATION_MAX_PAGE_SIZE": -1,
        "PAGINATION_EXACT_COUNT_LIMIT": 0,
    }
    messages = check_scoping()
    assert _ids(messages) == ["supahybrid.E026"] * 3
    assert "PAGINATION_PAGE_SIZE is 0" in messages[0].msg


def test_w020_scoped_models_without_resolution(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {}
    [message] = check_scoping()
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W020"


def test_invalid_settings_are_left_to_e001(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"PAGINATION_PAGE_SIZE": "twenty"}
    assert check_scoping() == []


def test_registered_with_django(settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {}
    assert "supahybrid.W020" in _ids(run_checks())
