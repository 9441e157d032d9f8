"""Log a warning at most once per interval per subject, so an outage does not flood logs."""

from __future__ import annotations

import logging
import threading
import time

_lock = threading.Lock()
_last: dict[tuple[str, str], float] = {}


def warn_every(
    logger: logging.Logger, subject: str, message: str, *args: object, interval: float = 60.0
) -> bool:
    """Log ``message % args`` as a warning unless ``subject`` was logged in the last interval.

    Returns whether it was logged.
    """
    now = time.monotonic()
    key = (logger.name, subject)
    with _lock:
        last = _last.get(key)
        if last is not None and now - last < interval:
            return False
        _last[key] = now
    logger.warning(message, *args)
    return True


def reset() -> None:
    """Forget what was logged (for tests)."""
    with _lock:
        _last.clear()
