"""The suite shares Redis politely: it deletes its own keys, never the whole database."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from django.core.cache import caches
from django_redis import get_redis_connection

from tests.authentication.conftest import clear_shared_cache

TESTS = Path(__file__).resolve().parent


def test_the_key_prefix_belongs_to_this_run(settings: Any) -> None:
    run = os.environ["SUPAHYBRID_TEST_RUN"]
    assert settings.CACHES["default"]["KEY_PREFIX"] == f"supahybrid-tests:{run}"


def test_emptying_the_cache_between_tests_keeps_other_keys() -> None:
    redis = get_redis_connection("default")
    foreign = "another-program:session"
    redis.set(foreign, "kept", ex=60)
    try:
        caches["default"].set("ours", 1)
        clear_shared_cache()
        assert caches["default"].get("ours") is None
        assert redis.get(foreign) == b"kept"
    finally:
        redis.delete(foreign)


def _clears_a_cache(node: ast.AST) -> bool:
    # cache.clear(), caches[...].clear(), caches["x"].clear()
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    target = node.func.value
    named = isinstance(target, ast.Name) and target.id in ("cache", "caches")
    indexed = (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == "caches"
    )
    return node.func.attr == "clear" and (named or indexed)


def test_no_test_empties_a_whole_cache() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{node.lineno}"
        for path in TESTS.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if _clears_a_cache(node)
    ]
    assert offenders == [], "use clear_shared_cache() (this run's keys), not cache.clear()"
    assert _clears_a_cache(ast.parse('caches["default"].clear()').body[0].value)  # type: ignore[attr-defined]
