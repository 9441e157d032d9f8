"""The docs cannot drift: every setting and every check id has its reference entry."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from django_supahybrid.conf import SupaHybridSettings

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "django_supahybrid"


def _headings(page: str) -> set[str]:
    text = (ROOT / "docs" / page).read_text()
    return set(re.findall(r"^###\s+`([^`]+)`", text, flags=re.MULTILINE))


def test_every_setting_is_documented() -> None:
    fields = {f.name for f in dataclasses.fields(SupaHybridSettings)}
    documented = _headings("settings.md")
    assert fields - documented == set(), "settings missing from docs/settings.md"
    assert documented - fields == set(), "docs/settings.md documents settings that do not exist"


def test_every_setting_entry_states_type_and_default() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    for field in dataclasses.fields(SupaHybridSettings):
        section = text.split(f"### `{field.name}`", 1)[1].split("\n### ", 1)[0]
        assert "**Type:**" in section, field.name
        assert "**Default:**" in section, field.name


def test_every_check_id_is_documented() -> None:
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"supahybrid\.[EWI]\d{3}", path.read_text()))
    assert used, "no check ids found in the source"
    documented = _headings("checks.md")
    text = (ROOT / "docs" / "checks.md").read_text()
    retired = {
        heading
        for heading in documented
        if "**Retired**" in text.split(f"### `{heading}`", 1)[1].split("\n### ", 1)[0]
    }
    assert retired == {"supahybrid.W052"}
    assert used - documented == set(), "check ids missing from docs/checks.md"
    assert used & retired == set(), "a retired check id is emitted again"
    assert documented - used - retired == set(), "docs/checks.md documents ids never emitted"


def test_changelog_has_unreleased_section_and_is_included() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "\n## Unreleased\n" in changelog
    assert "CHANGELOG.md" in (ROOT / "docs" / "changelog.md").read_text()
