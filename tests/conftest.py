from __future__ import annotations

import pytest


def pytest_unconfigure(config: pytest.Config) -> None:
    # Stop the embedded servers this process started (if any), leaving nothing running.
    import devservices

    devservices.stop_all()
