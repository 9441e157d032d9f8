"""What every view of the example's API shares.

Authentication comes from ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`` (one line
in ``config/settings.py``); permissions, pagination, parsing, errors and the schema are set
here so the views behave the same under any settings module.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from accounts.models import forget_profile
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from core.errors import api_exception_handler
from core.parsers import JSONObjectParser
from django_supahybrid.pagination import StandardPagination

if TYPE_CHECKING:
    from rest_framework.request import Request

__all__ = ["APIMixin", "StrictSerializerMixin", "check_pk", "document"]

_F = TypeVar("_F", bound=Callable[..., Any])


def document(**kwargs: Any) -> Callable[[_F], _F]:
    """drf-spectacular's ``extend_schema``, whatever ``DEFAULT_SCHEMA_CLASS`` is set to.

    ``extend_schema`` builds on the schema class configured when it runs (at import); this
    makes it build on drf-spectacular's (or on the previous annotation, so that several,
    one per method, stack), so the schema is right under any settings module.
    """

    def decorator(target: _F) -> _F:
        is_class = isinstance(target, type)
        previous = (
            getattr(target, "schema", None)
            if is_class
            else getattr(target, "kwargs", {}).get("schema")
        )
        previous_class = previous if isinstance(previous, type) else type(previous)
        base = previous if issubclass(previous_class, AutoSchema) else AutoSchema
        target.schema = base  # type: ignore[attr-defined]
        extend_schema(**kwargs)(target)
        if not is_class:
            del target.schema  # type: ignore[attr-defined]
        return target

    return decorator


def check_pk(value: object, pk_type: Callable[[str], object] = uuid.UUID) -> None:
    """404 unless ``value`` reads as a primary key (a UUID unless told otherwise).

    A malformed id is then a 404 like an unknown one, not a database error.
    """
    try:
        pk_type(str(value))
    except ValueError:
        raise NotFound() from None


class APIMixin:
    """Base for the example's API views and viewsets (put it first in the bases)."""

    permission_classes: Any = [IsAuthenticated]
    pagination_class: Any = StandardPagination
    parser_classes: Any = [JSONObjectParser]
    renderer_classes: Any = [JSONRenderer]
    schema: Any = AutoSchema()
    pk_type: Callable[[str], object] = uuid.UUID

    def get_authenticators(self) -> list[Any]:
        # Read when the request arrives, not when the class is defined, so the settings
        # in force (including a test's override) decide.
        return [authenticator() for authenticator in api_settings.DEFAULT_AUTHENTICATION_CLASSES]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        forget_profile(request.user)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def get_exception_handler(self) -> Callable[..., Any]:
        return api_exception_handler

    def get_object(self) -> Any:
        kwargs: dict[str, Any] = self.kwargs  # type: ignore[attr-defined]
        check_pk(kwargs.get("pk"), self.pk_type)
        return super().get_object()  # type: ignore[misc]


class StrictSerializerMixin:
    """Reject keys a client may not write: unknown fields and read-only ones are a 400."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields: Mapping[str, serializers.Field[Any, Any, Any, Any]] = self.fields  # type: ignore[attr-defined]
            errors: dict[str, list[str]] = {}
            for key in data:
                field = fields.get(key)
                if field is None:
                    errors[str(key)] = ["Unknown field."]
                elif field.read_only:
                    errors[str(key)] = ["This field is read-only."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]
