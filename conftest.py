"""Shared test fixtures: the demo data loaded once per run, the demo personas, and a live server."""

import os
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
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("demo_data", stdout=open("/dev/null", "w"))


@pytest.fixture
def persona(db):
    from minqing.accounts.models import User

    def get(username: str) -> User:
        return User.objects.get(username=username)

    return get


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


def _app_database_url(tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A database for the server process, and how to drop it afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"minqing_live_{uuid.uuid4().hex[:8]}"
        base, _, _db = url.rpartition("/")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"{base}/{name}", drop
    return f"sqlite:///{tmp_dir / 'live.sqlite3'}", lambda: None


class LiveApp:
    def __init__(self, url: str, env: dict):
        self.url = url
        self.env = env

    def manage(self, *args: str) -> str:
        """Run a management command against the server's database."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def shell(self, code: str) -> str:
        """Run Python in a Django shell on the server's database; what it prints comes back."""
        return self.manage("shell", "-c", code)


@contextmanager
def serve_live_app(tmp_dir: Path) -> Iterator[LiveApp]:
    """Migrate a fresh database, load the demo data and serve it with gunicorn until the block ends."""
    database_url, drop = _app_database_url(tmp_dir)
    env = {**os.environ, "DATABASE_URL": database_url, "MINQING_VAR_DIR": str(tmp_dir), "DJANGO_DEBUG": "true"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "demo_data"], cwd=ROOT, env=env, check=True, capture_output=True)
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
    # Generous: on the shared 2-core machine under load a worker takes 20–40 s to import Django.
    deadline = time.monotonic() + 120
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
        yield LiveApp(url, env)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        drop()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    with serve_live_app(tmp_path_factory.mktemp("live")) as app:
        yield app
