from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


def pytest_unconfigure(config: pytest.Config) -> None:
    # Stop the embedded servers this process started (if any), leaving nothing running.
    import devservices

    devservices.stop_all()
