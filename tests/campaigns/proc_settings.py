"""Settings of a process a test starts (call control, the dialer): the project's settings on the
test database, whose name the test passes in CALLCENTER_TEST_DB_NAME (a file for SQLite, a
database for PostgreSQL)."""

import os

from callcenter.settings import *  # noqa: F403
from callcenter.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["CALLCENTER_TEST_DB_NAME"]
