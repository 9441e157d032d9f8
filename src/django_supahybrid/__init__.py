"""Supabase + Django REST Framework, fast and correct."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
