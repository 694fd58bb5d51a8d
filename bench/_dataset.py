"""What the benchmarks that build a large database once share: the PostgreSQL database named by
DATABASE_URL created (or dropped and created again), and a marker row saying which data set it holds,
so a run on data of another version or size stops instead of measuring the wrong thing.
Import after django.setup()."""

import os

from django.db import connection


def ensure_postgres_database(rebuild: bool) -> None:
    import psycopg

    base, _, name = os.environ["DATABASE_URL"].rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def read_marker() -> str | None:
    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_marker (marker varchar(200) NOT NULL)")
        c.execute("SELECT marker FROM bench_marker")
        row = c.fetchone()
    return row[0] if row else None


def write_marker(marker: str) -> None:
    with connection.cursor() as c:
        c.execute("DELETE FROM bench_marker")
        c.execute("INSERT INTO bench_marker (marker) VALUES (%s)", [marker])
