"""The example's requirement files list what pyproject.toml's groups install for it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _names(requirements: list[str]) -> set[str]:
    names = set()
    for line in requirements:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower())
    return names


def _group(name: str) -> set[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return _names(groups[name])


def _file(name: str) -> set[str]:
    return _names((ROOT / "example_project" / name).read_text().splitlines())


def test_the_examples_requirements_are_the_library_and_the_example_group() -> None:
    assert _file("requirements.txt") == {"django-supahybrid", *_group("example")}


def test_the_examples_test_requirements_come_from_the_test_and_load_groups() -> None:
    needed = _file("requirements-test.txt")
    assert needed <= _group("test") | _group("load")
    assert {"pytest", "pytest-django", "pytest-env", "locust"} <= needed
