"""Models the library's tests use; later components add theirs here."""

from __future__ import annotations
