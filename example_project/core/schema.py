"""The OpenAPI document: the error answers and page limits (the library adds the Bearer scheme)."""

from __future__ import annotations

from typing import Any

__all__ = ["document_errors_and_limits"]


_ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "code": {"type": "string", "description": "What went wrong, for a program."},
    },
    "required": ["detail", "code"],
}
_INVALID = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "example": "Invalid input."},
        "code": {"type": "string", "example": "invalid"},
        "errors": {
            "description": "The messages per field (a list for an error of the whole body).",
            "oneOf": [
                {"type": "object", "additionalProperties": True},
                {"type": "array", "items": {"type": "string"}},
            ],
        },
    },
    "required": ["detail", "code", "errors"],
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_INVALID_REF = {"$ref": "#/components/schemas/ValidationError"}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page_size_maximum(callback: Any) -> int | None:
    """The largest page the view's paginator gives (``StandardPagination`` and kin)."""
    paginator_class = getattr(getattr(callback, "cls", None), "pagination_class", None)
    if paginator_class is None or not hasattr(paginator_class, "maximum_page_size"):
        return None
    return int(paginator_class().maximum_page_size())


def document_errors_and_limits(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: the error answers of every operation, and page size limits.

    Adds the ``Error`` and ``ValidationError`` bodies (``core.errors``) as 400 (a body or
    query parameters to check), 401 and 403 (an operation that needs a token) and 404 (an
    id in the path, or pages) answers, and the ``page_size`` parameter's maximum.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", _ERROR)
    schemas.setdefault("ValidationError", _INVALID)
    callbacks = {
        (path, method.lower()): callback
        for path, _regex, method, callback in getattr(generator, "endpoints", None) or []
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            names = {p.get("name") for p in parameters if p.get("in") == "query"}
            if "requestBody" in operation or names:
                responses.setdefault("400", _answer("The request is not valid.", _INVALID_REF))
            security = operation.get("security", [])
            if security and {} not in security:  # a token is required
                responses.setdefault(
                    "401", _answer("No access token, or one that is not valid.", _ERROR_REF)
                )
                responses.setdefault("403", _answer("The caller may not do this.", _ERROR_REF))
            if "{" in path or names & {"page", "cursor"}:
                responses.setdefault("404", _answer("Not found.", _ERROR_REF))
            maximum = _page_size_maximum(callbacks.get((path, method)))
            for parameter in parameters:
                if parameter.get("in") == "query" and parameter.get("name") == "page_size":
                    schema = parameter.setdefault("schema", {"type": "integer"})
                    schema.setdefault("minimum", 1)
                    if maximum is not None:
                        schema.setdefault("maximum", maximum)
    return result
