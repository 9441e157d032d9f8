"""The benchmark settings plus the test app's campaign models, for ``bench_scoping``."""

from __future__ import annotations

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import INSTALLED_APPS, SUPAHYBRID

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
ROOT_URLCONF = "benchmarks.urls_scoping"
SUPAHYBRID = {**SUPAHYBRID, "ORGANIZATION_LOOKUP": "scoping_profile__organization"}
