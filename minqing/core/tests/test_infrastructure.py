"""The platform under the application: SQLite set for several writing processes, production
settings that pass `check --deploy` and refuse to start on a bad value, the health check, and a
background task run by the real database worker."""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]

on_postgresql = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="SQLite configuration; checked on the SQLite leg of the same run",
)


def _base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MINQING_", "DATABASE_URL"))}
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


# SQLite for concurrent use ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_file_env(tmp_path_factory) -> dict[str, str]:
    """A fresh, migrated SQLite file database, the way the demo creates one."""
    tmp_dir = tmp_path_factory.mktemp("sqlite_file")
    env = _base_env(
        DATABASE_URL=f"sqlite:///{tmp_dir / 'minqing.sqlite3'}", MINQING_VAR_DIR=str(tmp_dir), DJANGO_DEBUG="true"
    )
    done = _manage("migrate", "-v0", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return env


PRAGMA_PROBE = """
import json, sqlite3
from django.db import connection, transaction
from minqing.core.models import AuditEntry

with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal_mode = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy_timeout = cursor.fetchone()[0]

# A transaction that has only read must already hold the write lock (BEGIN IMMEDIATE): a second
# connection that asks for it without waiting is refused.
other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
with transaction.atomic():
    AuditEntry.objects.exists()
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        write_lock_held = False
    except sqlite3.OperationalError as error:
        write_lock_held = "locked" in str(error)
other.execute("BEGIN IMMEDIATE")  # free again once the transaction is over
other.execute("ROLLBACK")
print(json.dumps({
    "journal_mode": journal_mode,
    "busy_timeout": busy_timeout,
    "transaction_mode": connection.transaction_mode,
    "write_lock_held": write_lock_held,
}))
"""


@on_postgresql
def test_sqlite_connection_uses_wal_busy_timeout_and_immediate_transactions(sqlite_file_env):
    done = _manage("shell", "-c", PRAGMA_PROBE, env=sqlite_file_env)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["journal_mode"] == "wal"
    assert seen["busy_timeout"] >= 5000
    assert seen["transaction_mode"] == "IMMEDIATE"
    assert seen["write_lock_held"] is True


WRITER = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
import django
django.setup()
from django.db import transaction
from minqing.core.audit import audit_record
from minqing.core.models import AuditEntry

name, start_at, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
time.sleep(max(0.0, start_at - time.time()))  # all writers start together
for _ in range(count):
    # Read, then write in one transaction: the pattern of every service, and the one that fails
    # with "database is locked" when a deferred read lock has to be upgraded under contention.
    with transaction.atomic():
        seq = AuditEntry.objects.filter(actor_name=name).count()
        audit_record(action="infrastructure.write_probe", actor_name=name, data={"seq": seq})
"""


@on_postgresql
def test_several_processes_write_at_once_without_database_is_locked(sqlite_file_env):
    writers, per_writer = 4, 50
    start_at = time.time() + 3  # time for every interpreter to start and set up Django
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"writer{n}", str(start_at), str(per_writer)],
            cwd=ROOT,
            env=sqlite_file_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    outcomes = [(p.wait(timeout=180), p.stderr.read()) for p in processes]
    for p in processes:
        p.stdout.close()
        p.stderr.close()
    for returncode, stderr in outcomes:
        assert "database is locked" not in stderr
        assert returncode == 0, stderr

    done = _manage(
        "shell",
        "-c",
        "import json; from minqing.core.models import AuditEntry; "
        "rows = AuditEntry.objects.filter(action='infrastructure.write_probe'); "
        "print(json.dumps(sorted([r.actor_name, r.data['seq']] for r in rows)))",
        env=sqlite_file_env,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    # Every write is there, and each transaction saw all earlier writes of its writer.
    assert rows == sorted([f"writer{n}", seq] for n in range(writers) for seq in range(per_writer))


# Production settings --------------------------------------------------------------------------------


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = _base_env(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="minqing.example.org",
        MINQING_PII_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        MINQING_PII_HASH_KEY=secrets.token_urlsafe(32),
        MINQING_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'minqing.sqlite3'}",
    )
    env.update(overrides)
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    done = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DJANGO_SECRET_KEY", None, "environment variable DJANGO_SECRET_KEY is required"),
        ("DJANGO_SECRET_KEY", "too-short", "DJANGO_SECRET_KEY must be a random value of at least 50 characters"),
        ("DJANGO_ALLOWED_HOSTS", None, "DJANGO_ALLOWED_HOSTS is required"),
        ("MINQING_PII_KEYS", None, "MINQING_PII_KEYS is required"),
        ("MINQING_PII_KEYS", "not-a-fernet-key", "MINQING_PII_KEYS: each key must be 32 url-safe base64"),
        ("MINQING_PII_HASH_KEY", None, "environment variable MINQING_PII_HASH_KEY is required"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe' is not a boolean"),
    ],
)
def test_start_up_refuses_a_missing_or_bad_setting_naming_it(tmp_path, variable, value, message):
    env = _production_env(tmp_path)
    if value is None:
        del env[variable]
    else:
        env[variable] = value
    done = _manage("check", env=env)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert message in last_line


# Health check ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_503_when_the_database_does_not_answer(tmp_path):
    closed_port = _free_port()  # nothing listens there: connections are refused
    env = _base_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port}/minqing",
        MINQING_VAR_DIR=str(tmp_path),
        DJANGO_DEBUG="true",
    )
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "minqing.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
                pytest.fail("/healthz answered 200 without a database")
            except urllib.error.HTTPError as error:
                status, body = error.code, json.load(error)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.2)
        assert status == 503
        assert body == {"status": "error", "database": "unavailable"}
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


# Background tasks ------------------------------------------------------------------------------------


def test_sessions_purge_runs_in_the_database_worker(live_app):
    created = json.loads(
        live_app.shell(
            "import json\n"
            "from datetime import timedelta\n"
            "from django.contrib.sessions.backends.db import SessionStore\n"
            "from django.contrib.sessions.models import Session\n"
            "from django.utils import timezone\n"
            "from minqing.core.tasks import sessions_purge\n"
            "expired, live = SessionStore(), SessionStore()\n"
            "expired.create(); live.create()\n"
            "Session.objects.filter(pk=expired.session_key).update(expire_date=timezone.now() - timedelta(minutes=1))\n"
            "result = sessions_purge.enqueue()\n"
            "print(json.dumps({'expired': expired.session_key, 'live': live.session_key,"
            " 'result': str(result.id), 'status': result.status}))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert created["status"] == "READY"

    # Nothing runs until the worker does: enqueuing only writes the task row.
    probe = (
        "import json\n"
        "from django.contrib.sessions.models import Session\n"
        "from minqing.core.tasks import sessions_purge\n"
        f"keys = {[created['expired'], created['live']]!r}\n"
        "present = sorted(Session.objects.filter(pk__in=keys).values_list('pk', flat=True))\n"
        f"result = sessions_purge.get_result({created['result']!r})\n"
        "print(json.dumps({'present': present, 'status': result.status}))"
    )
    before = json.loads(live_app.shell(probe).strip().splitlines()[-1])
    assert before == {"present": sorted([created["expired"], created["live"]]), "status": "READY"}

    live_app.manage("db_worker", "--batch", "--no-startup-delay")

    after = json.loads(live_app.shell(probe).strip().splitlines()[-1])
    assert after == {"present": [created["live"]], "status": "SUCCESSFUL"}
