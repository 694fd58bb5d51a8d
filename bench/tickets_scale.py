"""Demands at district scale: build (once) a PostgreSQL database of N demands (2,000,000 by default)
spread over a year, then time what the issue sets figures for:

- a handler's queue (a grid worker's open demands; a department's), first page of 50
- a filtered list (category + status + period), first page of 50 with the count capped
  (core.pagination.count_capped, as the list pages do)
- the KPI table (tickets.kpis.ticket_kpis) for the whole district over a year, per subdistrict
- tickets.services.deadline_sweep over all open demands (about 100,000, most past their deadline)

    .venv/bin/python bench/tickets_scale.py                 # builds minqing_tickets_bench on first run
    .venv/bin/python bench/tickets_scale.py --rebuild --tickets 2000000
    .venv/bin/python bench/tickets_scale.py --reps 20 --explain

"Server time" is the selector's queries measured in-process with time.perf_counter (no HTTP, no
template). The data is written by PostgreSQL itself (INSERT … SELECT generate_series), so 2,000,000
demands take minutes, not hours."""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = "postgres://postgres@127.0.0.1:5432/minqing_tickets_bench"
DATASET_VERSION = "tickets-scale-v1"


def _parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=2_000_000)
    p.add_argument("--rebuild", action="store_true", help="drop and build the data again")
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--reps", type=int, default=15, help="repetitions per measurement (median reported)")
    p.add_argument("--sweep-reps", type=int, default=3)
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query once")
    p.add_argument("--only", default="", help="comma-separated: queue,list,kpis,sweep")
    return p.parse_args()


ARGS = _parse_args()
os.environ["DATABASE_URL"] = os.environ.get("MINQING_BENCH_TICKETS_DATABASE_URL", PG_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from minqing.accounts.models import Department, User  # noqa: E402
from minqing.accounts.roles import Role  # noqa: E402
from minqing.areas.models import Area, AreaLevel  # noqa: E402

# Database set-up --------------------------------------------------------------------------------


def _ensure_database(rebuild: bool) -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _marker() -> str:
    return f"{DATASET_VERSION}:{ARGS.tickets}"


def _read_marker() -> str | None:
    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_marker (marker varchar(200) NOT NULL)")
        c.execute("SELECT marker FROM bench_marker")
        row = c.fetchone()
    return row[0] if row else None


def _write_marker() -> None:
    with connection.cursor() as c:
        c.execute("DELETE FROM bench_marker")
        c.execute("INSERT INTO bench_marker (marker) VALUES (%s)", [_marker()])


# The district -----------------------------------------------------------------------------------

DEPARTMENTS = [
    ("power", "供电公司"), ("landscape", "园林所"), ("police", "派出所"), ("judicial", "司法所"),
    ("property", "物业公司"), ("water", "供排水公司"), ("housing", "住建局"), ("civil_affairs", "民政局"),
]  # fmt: skip


def _children(parents, level, per, name_of):
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


# The demands, written by PostgreSQL. Every random draw is a column of `draws`, so the states, times
# and ratings of one demand agree with each other. Ages are spread evenly over the last 365 days.
# Older than 10 days: 3.5 % still open (stragglers, all past their deadline); younger: 60 % open.
TICKETS_SQL = """
WITH grids AS (
    SELECT array_agg(a.id ORDER BY a.id) AS ids, array_agg(a.path ORDER BY a.id) AS paths,
           array_agg(u.id ORDER BY a.id) AS workers
    FROM areas_area a JOIN accounts_user u ON u.area_id = a.id AND u.role = 'grid_worker'
    WHERE a.level = 'grid'
), cats AS (
    SELECT array_agg(c.id ORDER BY c.id) AS ids FROM tickets_category c
    WHERE NOT EXISTS (SELECT 1 FROM tickets_category k WHERE k.parent_id = c.id)
), depts AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_department),
draws AS (
    SELECT s, random() AS r_age, random() AS r_open, random() AS r_state, random() AS r_acc,
           random() AS r_fin, random() AS r_close, random() AS r_rate, random() AS r_who, random() AS r_grid,
           random() AS r_cat, random() AS r_dept, random() AS r_chan
    FROM generate_series(%(start)s, %(stop)s) s
), base AS (
    SELECT d.*, now() - d.r_age * interval '365 days' AS recv,
           CASE WHEN d.r_age * 365 < 10 THEN d.r_open < 0.6 ELSE d.r_open < 0.035 END AS is_open,
           1 + floor(d.r_grid * d.r_grid * array_length(g.ids, 1))::int AS gi,
           g.ids, g.paths, g.workers, c.ids AS cat_ids, p.ids AS dept_ids
    FROM draws d, grids g, cats c, depts p
), shaped AS (
    SELECT b.*,
        CASE WHEN b.is_open THEN (ARRAY['registered', 'accepted', 'dispatched', 'in_progress', 'in_progress',
                                        'returned', 'escalated', 'whistled', 'suspended', 'reopened'])
                                 [1 + floor(b.r_state * 10)::int]
             WHEN b.r_state < 0.03 THEN 'handled' WHEN b.r_state < 0.18 THEN 'closed'
             WHEN b.r_state < 0.91 THEN 'evaluated' WHEN b.r_state < 0.96 THEN 'merged'
             ELSE 'rejected' END AS st
    FROM base b
)
INSERT INTO tickets_ticket (
    number, channel, category_id, urgency, description, reporter_name, reporter_phone, area_id, area_path,
    latitude, longitude, status, status_before_suspension, level, handler_id, department_id, merged_into_id,
    created_by_id, received_at, registered_at, accept_due_at, finish_due_at, deadline_provisional, accepted_at,
    handled_at, closed_at, suspended_at, warned_at, overdue_at, rating, rating_comment, rated_at)
SELECT
    'MQ' || to_char(recv, 'YYYYMMDD') || '-' || lpad(s::text, 7, '0'),
    (ARRAY['desk', 'phone', 'visit', 'grid_patrol', 'liaison', 'portal', 'hotline_12345', 'hotline_12345',
           'hotline_12345', 'smart_platform'])[1 + floor(r_chan * 10)::int],
    cat_ids[1 + floor(r_cat * array_length(cat_ids, 1))::int],
    CASE WHEN r_chan < 0.05 THEN 'urgent' ELSE 'normal' END,
    (ARRAY['楼道堆放杂物影响通行', '下水道堵塞污水倒灌', '路灯不亮夜间出行不便', '电动车飞线充电',
           '垃圾站多日未清运', '楼上漏水渗到天花板', '小区内乱停车堵住单元门', '高层水压不足'])
        [1 + floor(r_who * 8)::int],
    '', '', ids[gi], paths[gi], NULL, NULL, st,
    CASE WHEN st = 'suspended' THEN 'in_progress' ELSE '' END, 'grid',
    CASE WHEN r_who < 0.6 AND st NOT IN ('registered', 'merged', 'rejected') THEN workers[gi] END,
    CASE WHEN r_who >= 0.6 AND r_who < 0.95 AND st NOT IN ('registered', 'accepted', 'merged', 'rejected')
         THEN dept_ids[1 + floor(r_dept * array_length(dept_ids, 1))::int] END,
    NULL, workers[gi], recv, recv + interval '5 minutes', recv + interval '24 hours', recv + interval '7 days', false,
    CASE WHEN st NOT IN ('registered', 'merged', 'rejected', 'escalated') THEN recv + r_acc * interval '30 hours' END,
    CASE WHEN st IN ('handled', 'closed', 'evaluated')
         THEN recv + interval '2 hours' + r_fin * interval '9 days' END,
    CASE WHEN st IN ('closed', 'evaluated')
         THEN recv + interval '2 hours' + r_fin * interval '9 days' + r_close * interval '2 days' END,
    CASE WHEN st = 'suspended' THEN recv + interval '1 day' END,
    NULL, NULL,
    CASE WHEN st <> 'evaluated' THEN '' WHEN r_rate < 0.72 THEN 'satisfied'
         WHEN r_rate < 0.92 THEN 'basically_satisfied' ELSE 'unsatisfied' END,
    '',
    CASE WHEN st = 'evaluated' THEN recv + interval '2 hours' + r_fin * interval '9 days' + interval '3 days' END
FROM shaped
"""

# Events only where a figure needs them: a dispatch for every demand sent to a unit, and a return
# for one in twelve of those.
EVENTS_SQL = """
INSERT INTO tickets_ticketevent (ticket_id, action, from_status, to_status, actor_label, at, note, public, data)
SELECT t.id, e.action, e.from_status, e.to_status, '', t.received_at + e.after, '', true, '{}'::jsonb
FROM tickets_ticket t
CROSS JOIN LATERAL (VALUES ('dispatch', 'accepted', 'dispatched', interval '26 hours'),
                           ('return', 'in_progress', 'returned', interval '30 hours'))
    AS e(action, from_status, to_status, after)
WHERE t.department_id IS NOT NULL AND (e.action = 'dispatch' OR mod(t.id, 12) = 0)
"""


def build(n_tickets: int) -> None:
    t0 = time.perf_counter()
    print("migrate …", flush=True)
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        district = Area.objects.create(level=AreaLevel.DISTRICT, code="150603", name="民安区", path="")
        district.path = f"/{district.pk}/"
        district.save(update_fields=["path"])
        subs = _children([district], AreaLevel.SUBDISTRICT, 10, lambda p, i: f"第{i}街道")
        comms = _children(subs, AreaLevel.COMMUNITY, 10, lambda p, i: f"{p.name}{i}社区")
        grids = _children(comms, AreaLevel.GRID, 10, lambda p, i: f"{p.name}第{i}网格")
        departments = Department.objects.bulk_create(
            Department(name=f"民安区{name}{k}", code=f"D-{kind}-{k}", kind=kind, area=district)
            for k in (1, 2)
            for kind, name in DEPARTMENTS
        )
        users = [
            User(username=f"grid{g.pk}", display_name=g.name, role=Role.GRID_WORKER, area=g, password="!")
            for g in grids
        ]
        users += [
            User(username=f"staff{c.pk}", display_name=c.name, role=Role.COMMUNITY_STAFF, area=c, password="!")
            for c in comms
        ]
        users += [
            User(username=f"street{s.pk}", display_name=s.name, role=Role.SUBDISTRICT_STAFF, area=s, password="!")
            for s in subs
        ]
        users += [
            User(username=f"dept{d.pk}", display_name=d.name, role=Role.DEPARTMENT, department=d, password="!")
            for d in departments
        ]
        users.append(
            User(username="bench_district", display_name="区级", role=Role.DISTRICT_STAFF, area=district, password="!")
        )
        User.objects.bulk_create(users)
    print(f"  areas {1 + len(subs) + len(comms) + len(grids)}, users {len(users)}", flush=True)
    step = 250_000
    with connection.cursor() as c:
        c.execute("SELECT setseed(0.20251124)")
        for start in range(1, n_tickets + 1, step):
            stop = min(start + step - 1, n_tickets)
            c.execute(TICKETS_SQL, {"start": start, "stop": stop})
            print(f"  demands {stop:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
        c.execute(EVENTS_SQL)
        print(f"  events {c.rowcount:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
    _write_marker()
    print("  VACUUM ANALYZE …", flush=True)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)


def main() -> None:
    _ensure_database(ARGS.rebuild)
    marker = _read_marker()
    if marker is None:
        build(ARGS.tickets)
    elif marker != _marker():
        sys.exit(f"the database holds {marker!r}, not {_marker()!r}: run with --rebuild")
    else:
        call_command("migrate", verbosity=0)
    if ARGS.build_only:
        return
    measure()


def measure() -> None:
    raise NotImplementedError


if __name__ == "__main__":
    main()
