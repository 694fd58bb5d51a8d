"""The settings of the test suite and of the servers it starts: the real settings, with password
hashing made cheap. Django's default (PBKDF2, 1.5 million rounds) costs about a second per sign-in on
these machines and the suite signs in hundreds of times; the algorithm stays the same, only the
rounds differ (Django's own advice for tests)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher

from minqing.settings import *  # noqa: F403


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000


PASSWORD_HASHERS = ["minqing.settings_test.QuickPBKDF2PasswordHasher"]

# Each test runs inside a transaction that is rolled back, and a server-side cursor (QuerySet.iterator(),
# a ModelChoiceField's choices) dies with it; one a test left half-read is closed later by the garbage
# collector, inside another test's transaction, where PostgreSQL refuses the CLOSE and aborts that test.
# Outside tests Django declares them WITH HOLD, so the late CLOSE succeeds.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True  # noqa: F405
