"""Demands at district scale: build (once) a PostgreSQL database of N demands (2,000,000 by default)
spread over a year, then time what the issue sets figures for:

- a handler's queue (a grid worker's open demands; a department's), first page of 50
- a filtered list (category + status + period), first page of 50 with the count capped
  (core.pagination.count_capped, as the list pages do)
- the KPI table (tickets.kpis.ticket_kpis) for the whole district over a year, per subdistrict, category
  and month (the figures' cube refreshed first), and once all live
- the cube's refresh (services.ticket_figures_refresh) with a step in every past month
- tickets.services.deadline_sweep over all open demands (about 100,000, most past their deadline)

    .venv/bin/python bench/tickets_scale.py                 # builds minqing_tickets_bench on first run
    .venv/bin/python bench/tickets_scale.py --rebuild --tickets 2000000
    .venv/bin/python bench/tickets_scale.py --reps 20 --explain

"Server time" is the selector's queries measured in-process with time.perf_counter (no HTTP, no
template). The data is written by PostgreSQL itself (INSERT … SELECT generate_series), so 2,000,000
demands take minutes, not hours."""

import argparse
import datetime
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
    p.add_argument("--only", default="", help="comma-separated: queue,list,kpis,figures,sweep")
    return p.parse_args()


ARGS = _parse_args()
os.environ["DATABASE_URL"] = os.environ.get("MINQING_BENCH_TICKETS_DATABASE_URL", PG_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._dataset import (  # noqa: E402
    area_children,
    fresh,
    open_dataset,
    timed,
    write_marker,
)
from minqing.accounts.models import Department, User  # noqa: E402
from minqing.accounts.roles import Role  # noqa: E402
from minqing.areas.models import Area, AreaLevel  # noqa: E402
from minqing.core.pagination import count_capped  # noqa: E402
from minqing.tickets.kpis import month_bounds, ticket_kpis  # noqa: E402
from minqing.tickets.lifecycle import OPEN_STATES  # noqa: E402
from minqing.tickets.models import Category, Ticket, TicketFiguresMonth  # noqa: E402
from minqing.tickets.selectors import TicketFilters, filter_tickets, tickets_visible_to  # noqa: E402
from minqing.tickets.services import deadline_sweep, ticket_figures_refresh  # noqa: E402

# Database set-up --------------------------------------------------------------------------------


def _marker() -> str:
    return f"{DATASET_VERSION}:{ARGS.tickets}"


# The district -----------------------------------------------------------------------------------

DEPARTMENTS = [
    ("power", "供电公司"), ("landscape", "园林所"), ("police", "派出所"), ("judicial", "司法所"),
    ("property", "物业公司"), ("water", "供排水公司"), ("housing", "住建局"), ("civil_affairs", "民政局"),
]  # fmt: skip


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
    handled_at, closed_at, suspended_at, rating, rating_comment, rated_at)
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
        subs = area_children([district], AreaLevel.SUBDISTRICT, 10, lambda p, i: f"第{i}街道")
        comms = area_children(subs, AreaLevel.COMMUNITY, 10, lambda p, i: f"{p.name}{i}社区")
        grids = area_children(comms, AreaLevel.GRID, 10, lambda p, i: f"{p.name}第{i}网格")
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
    write_marker(_marker())
    print("  VACUUM ANALYZE …", flush=True)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)


def main() -> None:
    open_dataset(rebuild=ARGS.rebuild, marker=_marker(), build=lambda: build(ARGS.tickets))
    if ARGS.build_only:
        return
    measure()


# Measuring -------------------------------------------------------------------------------------

PAGE = 50
COUNT_CAP = 1000


def _first_page(qs) -> tuple[int, list]:
    count, _more = count_capped(qs, COUNT_CAP)
    return count, list(qs[:PAGE])


def _queue(user):
    qs = tickets_visible_to(fresh(user)).filter(status__in=sorted(OPEN_STATES))
    if user.role == Role.DEPARTMENT:
        qs = qs.filter(department_id=user.department_id)
    else:
        qs = qs.filter(handler=user)
    return qs.select_related("category", "area").order_by("finish_due_at", "pk")


def _filtered(user, category, status, start, end):
    filters = TicketFilters(status=(status,), category=category.pk, received_from=start, received_to=end)
    qs = filter_tickets(tickets_visible_to(fresh(user)), filters)
    return qs.select_related("category", "area").order_by("-received_at", "-pk")


def _explain(label: str, qs) -> None:
    for what, query in (("count", qs.order_by().values("pk")[: COUNT_CAP + 1]), ("page", qs[:PAGE])):
        sql, params = query.query.sql_with_params()
        if what == "count":
            sql = f"SELECT count(*) FROM ({sql}) s"
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join("    " + row[0] for row in c.fetchall())
        print(f"\n  {label} — {what}:\n{plan}\n", flush=True)


def _explain_kpis(user, start, end) -> None:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        ticket_kpis(fresh(user), start=start, end=end, dimension="area")
    for q in queries.captured_queries:
        if "GROUP BY" not in q["sql"]:
            continue
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            plan = "\n".join("    " + row[0] for row in c.fetchall())
        print(f"\n  KPI query ({q['time']} s):\n{plan}\n", flush=True)


def _explain_sweep() -> None:
    """One more sweep with its statements timed: where the time goes (SQL against the rest, Python)."""
    from django.test.utils import CaptureQueriesContext

    _reset_sweep()
    with CaptureQueriesContext(connection) as queries:
        t = time.perf_counter()
        deadline_sweep()
        total = time.perf_counter() - t
    sql = sum(float(q["time"]) for q in queries.captured_queries)
    print(f"\n  sweep {total:.2f} s, of it SQL {sql:.2f} s in {len(queries.captured_queries)} statements:")
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
        print(f"    {q['time']} s  {q['sql'][:160]}", flush=True)


def _reset_sweep() -> None:
    with connection.cursor() as c:
        c.execute("DELETE FROM tickets_ticketevent WHERE action IN ('overdue', 'due_soon')")
        c.execute("DELETE FROM inbox_notification WHERE kind IN ('overdue', 'due_soon')")
        c.execute("DELETE FROM tickets_deadlinemark")
        c.execute("VACUUM ANALYZE tickets_ticket")
        c.execute("VACUUM ANALYZE tickets_deadlinemark")


def measure() -> None:
    only = set(ARGS.only.split(",")) if ARGS.only else {"queue", "list", "kpis", "figures", "sweep"}
    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(status__in=sorted(OPEN_STATES)).count()
    print(f"\n{total:,} demands, {open_count:,} open; load average {os.getloadavg()}; {ARGS.reps} reps\n")
    print("| measurement | median ms | max ms | rows / count |")
    print("|---|---:|---:|---|")
    district = User.objects.select_related("area").get(username="bench_district")
    today = timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)
    if "queue" in only:
        # The busiest grid worker and department (the generator skews demands towards low grid ids).
        busiest_grid = Ticket.objects.filter(handler__isnull=False).values("handler_id").order_by("handler_id").first()
        worker = User.objects.select_related("area").get(pk=busiest_grid["handler_id"])
        dept = User.objects.select_related("department__area").filter(role=Role.DEPARTMENT).order_by("pk").first()
        for label, user in (("网格员待办（最忙的网格）", worker), ("部门待办", dept)):
            med, mx, (count, rows) = timed(lambda u=user: _first_page(_queue(u)), ARGS.reps)
            print(f"| {label} | {med:.1f} | {mx:.1f} | {len(rows)} of {count} |", flush=True)
            if ARGS.explain:
                _explain(label, _queue(user))
    if "list" in only:
        top = Category.objects.get(name="市政设施")
        community = User.objects.select_related("area").filter(role=Role.COMMUNITY_STAFF).order_by("pk").first()
        cases = [
            ("区级：市政设施 + 已评价 + 近 3 个月", district, top, "evaluated", today - datetime.timedelta(days=90)),
            ("区级：市政设施 + 办理中 + 近一年", district, top, "in_progress", year_ago),
            ("社区：市政设施 + 已评价 + 近一年", community, top, "evaluated", year_ago),
        ]
        for label, user, category, status, start in cases:
            med, mx, (count, rows) = timed(
                lambda u=user, c=category, s=status, f=start: _first_page(_filtered(u, c, s, f, today)), ARGS.reps
            )
            print(f"| 筛选列表 {label} | {med:.1f} | {mx:.1f} | {len(rows)} of {count} |", flush=True)
            if ARGS.explain:
                _explain(label, _filtered(user, category, status, start, today))
    if "kpis" in only:
        # The cube first (a no-op when it is current): the table reads whole past months from it.
        t = time.perf_counter()
        months = ticket_figures_refresh()
        took = (time.perf_counter() - t) * 1000
        print(f"| 统计月份刷新（首次或补算 {len(months)} 个月） | {took:.0f} | | |", flush=True)
        for dimension in ("area", "category", "month"):
            med, mx, table = timed(
                lambda d=dimension: ticket_kpis(fresh(district), start=year_ago, end=today, dimension=d),
                max(3, ARGS.reps // 3),
            )
            print(
                f"| 统计表 全区一年 按{dimension} | {med:.1f} | {mx:.1f} | {len(table.rows)} rows, "
                f"受理量 {table.total.received:,} |",
                flush=True,
            )
        if ARGS.explain:
            _explain_kpis(district, year_ago, today)
        med, mx, table = timed(
            lambda: ticket_kpis(fresh(district), start=year_ago, end=today, dimension="area", live=True), 1
        )
        print(f"| 统计表 全区一年 按area，全部实时（live=True） | {med:.1f} | {mx:.1f} | {len(table.rows)} rows |")
    if "figures" in only:
        # A step in every past month since the last refresh (the worst case of a sweep interval): the
        # refresh computes all of them again.
        times = []
        for _ in range(ARGS.sweep_reps):
            for month in TicketFiguresMonth.objects.values_list("month", flat=True):
                lo, hi = month_bounds(month)
                one = Ticket.objects.filter(received_at__gte=lo, received_at__lt=hi).order_by("received_at")[:1]
                Ticket.objects.filter(pk__in=list(one.values_list("pk", flat=True))).update(changed_at=timezone.now())
            t = time.perf_counter()
            months = ticket_figures_refresh()
            times.append((time.perf_counter() - t) * 1000)
        med, mx = statistics.median(times), max(times)
        print(f"| 统计月份刷新，每个整月都有变动（{len(months)} 个月） | {med:.0f} | {mx:.0f} | |", flush=True)
        t = time.perf_counter()
        ticket_figures_refresh()
        print(f"| 统计月份刷新，无变动 | {(time.perf_counter() - t) * 1000:.0f} | | |", flush=True)
    if "sweep" in only:
        times, counts = [], {}
        for _ in range(ARGS.sweep_reps):
            _reset_sweep()
            t = time.perf_counter()
            counts = deadline_sweep()
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"| deadline_sweep（全部未办结） | {statistics.median(times):.0f} | {max(times):.0f} | {counts} |",
            flush=True,
        )
        if ARGS.explain:
            _explain_sweep()
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
