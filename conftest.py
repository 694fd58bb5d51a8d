"""Shared test fixtures: the demo data loaded once per run, the demo personas, and a live server."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from minqing.accounts.middleware import SIGNED_IN_AT

# The demo personas (README) and the outsiders from another community.
PERSONAS = (
    "grid1",
    "liaison1",
    "staff1",
    "admin1",
    "street1",
    "dept1",
    "district1",
    "grid2",
    "liaison2",
    "staff2",
    "street2",
    "dept2",
    "bhead1",
)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    with django_db_blocker.unblock():
        # pytest-django creates no test database when no collected test asks for one.
        if "areas_area" in connection.introspection.table_names():
            call_command("demo_data", stdout=open("/dev/null", "w"))
            # The servers the tests start begin from a copy of this database, taken before any test
            # runs, instead of migrating and loading the demo again (half a minute each).
            _snapshot_test_database(tmp_path_factory.mktemp("snapshot"))
    yield
    with django_db_blocker.unblock():
        SNAPSHOT.drop()


@pytest.fixture
def persona(db):
    from minqing.accounts.models import User

    def get(username: str) -> User:
        return User.objects.get(username=username)

    return get


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files (photos) in the test's own folder, not in MINQING_VAR_DIR."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


@pytest.fixture
def client_as(db):
    """A test client signed in as a persona, the way the sign-in page leaves a session."""
    from minqing.accounts.models import User

    def make(username: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=username), backend="minqing.accounts.backends.RoleBackend")
        session = client.session
        session[SIGNED_IN_AT] = timezone.now().timestamp()
        session.save()
        return client

    return make


# A real server over real HTTP ---------------------------------------------------------------------
# The API, the sign-in rules and the browser tests talk to the application the way a phone or an
# integration does: a separate server process on a loopback port, with its own database (a temporary
# SQLite file, or a fresh PostgreSQL database when DATABASE_URL points at PostgreSQL) holding the demo
# data. Tests that change state there use their own users or undo what they did.


ROOT = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Snapshot:
    """The demo database as the suite loaded it: a PostgreSQL database to clone (CREATE DATABASE …
    TEMPLATE), or a SQLite file to copy."""

    path: Path | None = None
    name: str = ""

    def drop(self) -> None:
        if self.name:
            _postgres(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


SNAPSHOT = _Snapshot()


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(sql)


def _snapshot_test_database(tmp_dir: Path) -> _Snapshot:
    import sqlite3

    from django.db import connection, connections

    if connection.vendor == "postgresql":
        test_name = connection.settings_dict["NAME"]
        SNAPSHOT.name = f"{test_name}_snapshot"
        connections.close_all()  # a template may have no other session on it
        _postgres(f'DROP DATABASE IF EXISTS "{SNAPSHOT.name}" WITH (FORCE)')
        _postgres(f'CREATE DATABASE "{SNAPSHOT.name}" TEMPLATE "{test_name}"')
    else:
        connection.ensure_connection()
        SNAPSHOT.path = tmp_dir / "demo.sqlite3"
        with sqlite3.connect(SNAPSHOT.path) as target:
            connection.connection.backup(target)
        target.close()
    return SNAPSHOT


def _build_snapshot(tmp_dir: Path) -> None:
    """When the run set up no test database (only live-server tests were collected): migrate one and
    load the demo in it, the way the demo does."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        SNAPSHOT.name = f"minqing_snapshot_{uuid.uuid4().hex[:8]}"
        _postgres(f'CREATE DATABASE "{SNAPSHOT.name}"')
        database_url = f"{url.rpartition('/')[0]}/{SNAPSHOT.name}"
    else:
        SNAPSHOT.path = tmp_dir / "demo.sqlite3"
        database_url = f"sqlite:///{SNAPSHOT.path}"
    env = {**os.environ, "DATABASE_URL": database_url, "MINQING_VAR_DIR": str(tmp_dir), "DJANGO_DEBUG": "true"}
    env["DJANGO_SETTINGS_MODULE"] = "minqing.settings_test"
    for command in (["migrate", "-v0"], ["demo_data"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)


def _app_database_url(tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A copy of the demo database for the server process, and how to drop it afterwards."""
    if not (SNAPSHOT.name or SNAPSHOT.path):
        _build_snapshot(tmp_dir)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        name = f"minqing_live_{uuid.uuid4().hex[:8]}"
        base, _, _db = url.rpartition("/")
        _postgres(f'CREATE DATABASE "{name}" TEMPLATE "{SNAPSHOT.name}"')
        return f"{base}/{name}", lambda: _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.copyfile(SNAPSHOT.path, tmp_dir / "live.sqlite3")
    return f"sqlite:///{tmp_dir / 'live.sqlite3'}", lambda: None


# One long-lived Django process on the server's database: Python sent to it as one JSON line per
# call, what it printed (or the traceback) back as one JSON line.
SHELL_AGENT = r"""
import contextlib, io, json, sys, traceback
import django
django.setup()
for line in sys.stdin:
    out, error = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(out):
            exec(json.loads(line), {"__name__": "__shell__"})
    except BaseException:
        error = traceback.format_exc()
    sys.__stdout__.write(json.dumps({"out": out.getvalue(), "error": error}) + "\n")
    sys.__stdout__.flush()
"""


class LiveApp:
    def __init__(self, url: str, env: dict):
        self.url = url
        self.env = env
        self._agent: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        """Run a management command against the server's database."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def shell(self, code: str) -> str:
        """Run Python on the server's database, like `manage.py shell -c`; what it prints comes back.
        The process stays up between calls, so the many calls pay Django's start-up once."""
        if self._agent is None:
            self._agent = subprocess.Popen(
                [sys.executable, "-c", SHELL_AGENT],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        self._agent.stdin.write(json.dumps(code) + "\n")
        self._agent.stdin.flush()
        answer = json.loads(self._agent.stdout.readline())
        if answer["error"] is not None:
            raise RuntimeError(f"{answer['out']}\n{answer['error']}")
        return answer["out"]

    def close(self) -> None:
        if self._agent is not None:
            self._agent.stdin.close()
            self._agent.wait(timeout=10)
            self._agent = None


@contextmanager
def serve_live_app(tmp_dir: Path) -> Iterator[LiveApp]:
    """Serve a copy of the demo database (as the suite loaded it) with gunicorn until the block ends."""
    database_url, drop = _app_database_url(tmp_dir)
    env = {**os.environ, "DATABASE_URL": database_url, "MINQING_VAR_DIR": str(tmp_dir), "DJANGO_DEBUG": "true"}
    env["DJANGO_SETTINGS_MODULE"] = "minqing.settings_test"  # cheap password hashing, as in the suite
    port = _free_port()
    log = open(tmp_dir / "server.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "minqing.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded shared machine starts two workers slowly
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_dir / "server.log").read_text()) from None
            time.sleep(0.2)
    try:
        app = LiveApp(url, env)
        yield app
    finally:
        app.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()
        drop()


@pytest.fixture(scope="session")
def live_app(django_db_setup, tmp_path_factory):
    with serve_live_app(tmp_path_factory.mktemp("live")) as app:
        yield app
