"""What the benchmarks that build a large database once share: the PostgreSQL database named by
DATABASE_URL created (or dropped and created again), a marker row saying which data set it holds,
so a run on data of another version or size stops instead of measuring the wrong thing, the area
tree, and the timing loop. Import after django.setup()."""

import os
import statistics
import sys
import time

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


def open_dataset(*, rebuild: bool, marker: str, build) -> None:
    """The database ready to measure: built by `build()` when empty, migrated when its marker
    matches, refused when it holds another data set."""
    from django.core.management import call_command

    ensure_postgres_database(rebuild)
    current = read_marker()
    if current is None:
        build()
    elif current != marker:
        sys.exit(f"the database holds {current!r}, not {marker!r}: run with --rebuild")
    else:
        call_command("migrate", verbosity=0)


def area_children(parents, level, per: int, name_of) -> list:
    """`per` areas of `level` under each parent, with their materialised paths."""
    from minqing.areas.models import Area

    made = []
    for parent in parents:
        batch = Area.objects.bulk_create(
            [
                Area(level=level, code=f"{parent.code}{i:03d}", name=name_of(parent, i), parent=parent, path="")
                for i in range(1, per + 1)
            ]
        )
        for a in batch:
            a.path = f"{parent.path}{a.pk}/"
        made += batch
    Area.objects.bulk_update(made, ["path"])
    return made


def fresh(user):
    user._minqing_scope = None  # a new request computes the scope again
    return user


def timed(fn, reps: int) -> tuple[float, float, object]:
    """(median ms, max ms, last result) of `reps` runs after one warm-up."""
    result = fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), result
