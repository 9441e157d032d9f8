"""What every view of the example's API shares, beyond ``REST_FRAMEWORK`` in the settings.

Authentication, permissions, pagination, parsing, rendering, errors and the schema class
are the project's defaults (``config/settings.py``); this base adds the two things a
setting cannot say: a malformed id is a 404, and each request reads the caller's profile
afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from accounts.models import forget_profile
from rest_framework import serializers
from rest_framework.exceptions import NotFound

if TYPE_CHECKING:
    from rest_framework.request import Request

__all__ = ["APIMixin", "StrictSerializerMixin", "check_pk"]


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

    pk_type: Callable[[str], object] = uuid.UUID

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        forget_profile(request.user)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

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
