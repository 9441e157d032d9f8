"""The errors the counter helpers raise."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import FieldError
from django.db import models

__all__ = ["CounterBoundError", "CounterError", "CounterFieldError", "CounterKind"]

CounterKind = Literal["floor", "ceiling"]


class CounterError(Exception):
    """Base class of the errors raised by the counter helpers."""


class CounterFieldError(CounterError, FieldError):
    """The named field does not exist, is not an integer field, or cannot be a counter."""


class CounterBoundError(CounterError):
    """The change would take a counter past its floor or ceiling; nothing was written.

    ``value`` is the counter's value when the update was refused, ``delta`` the change that
    was asked for, ``kind`` is ``"floor"`` or ``"ceiling"`` and ``limit`` its value.
    """

    def __init__(
        self, *, model: type[models.Model], pk: Any, field: str, value: int, delta: int,
        kind: CounterKind, limit: int,
    ) -> None:  # fmt: skip
        self.model, self.pk, self.field = model, pk, field
        self.value, self.delta, self.kind, self.limit = value, delta, kind, limit
        side = "below the floor" if kind == "floor" else "above the ceiling"
        super().__init__(
            f"{model._meta.label}(pk={pk!r}).{field} is {value}; adding {delta} would take it "
            f"{side} {limit}. Nothing was changed."
        )
