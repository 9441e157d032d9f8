"""Every error answer is JSON: ``{"detail": <message>, "code": <code>}``.

Validation errors (400) say ``"detail": "Invalid input.", "code": "invalid"`` and add
``"errors"``, the messages per field. Every other error (401, 403, 404, 405, ...) keeps
its own ``detail`` and ``code``: an authentication failure's code is the library's refusal
code (``expired``, ``malformed``, ...). Request bodies that cannot be read (malformed
JSON, too large) are 400s, never 500s.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

__all__ = ["api_exception_handler", "bad_request", "not_found", "permission_denied", "server_error"]


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        # One message for every missing object, never naming the model or the query.
        return exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ParseError("The request body is too large.", code="too_large")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError("The request could not be read.", code="bad_request")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.messages)
    return exc


def _message(data: Any) -> dict[str, str] | None:
    """``{"detail", "code"}`` from DRF's body of a non-validation error, if it has one.

    DRF answers ``{"detail": <message>}`` for a string detail, and the detail itself when
    it is a dict: ``SupabaseJWTAuthentication`` raises ``{"detail": ..., "code": ...}``.
    """
    if not isinstance(data, dict) or "detail" not in data:
        return None
    detail = data["detail"]
    code = data.get("code") or getattr(detail, "code", None) or "error"
    return {"detail": str(detail), "code": str(code)}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with one body shape for every error."""
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    message = None if isinstance(exc, exceptions.ValidationError) else _message(response.data)
    if message is not None:
        response.data = message
    else:
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": response.data}
    return response


def _json_error(message: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler400``."""
    return _json_error("Bad request.", "bad_request", status.HTTP_400_BAD_REQUEST)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler403``."""
    return _json_error("Forbidden.", "permission_denied", status.HTTP_403_FORBIDDEN)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler404``."""
    return _json_error("Not found.", "not_found", status.HTTP_404_NOT_FOUND)


def server_error(request: HttpRequest) -> JsonResponse:
    """``handler500``."""
    return _json_error("Server error.", "server_error", status.HTTP_500_INTERNAL_SERVER_ERROR)
