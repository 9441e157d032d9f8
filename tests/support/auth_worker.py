"""A second Django process for the cross-process tests: authenticates tokens read on stdin.

Reads ``SUPAHYBRID`` as JSON from ``SUPAHYBRID_JSON``; answers one JSON line per token.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django

django.setup()

from django.conf import settings  # noqa: E402

from django_supahybrid import conf  # noqa: E402
from django_supahybrid.authentication.token_cache import authenticate_token  # noqa: E402
from django_supahybrid.authentication.tokens import TokenError  # noqa: E402

settings.SUPAHYBRID = json.loads(os.environ["SUPAHYBRID_JSON"])
conf.reload()

for line in sys.stdin:
    try:
        user, _ = authenticate_token(line.strip())
        answer = {"ok": True, "first_name": user.first_name}  # type: ignore[attr-defined]
    except TokenError as exc:
        answer = {"ok": False, "code": exc.code}
    print(json.dumps(answer), flush=True)
