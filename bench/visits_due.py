"""The care due list (今日走访, GET /api/v1/visits/due) at district scale: build (once) a PostgreSQL
database of 1,000,000 residents with care tags and 5,000,000 visits over the last year, then time
what the page and the API run for three readers — a grid worker (332 households), a community's
staff (3,328) and district staff (332,800).

    .venv/bin/python bench/visits_due.py                  # builds minqing_bench_visits on first run
    .venv/bin/python bench/visits_due.py --reps 15 --explain
    .venv/bin/python bench/visits_due.py --rebuild --residents 1000000 --visits 5000000

Issue 6's figure: the due list under 100 ms for a grid worker and under 2 s for the whole district,
median on PostgreSQL. "Server time" is the selectors' queries measured in-process with
time.perf_counter (no HTTP, no template). Everything is written by PostgreSQL itself
(INSERT … SELECT generate_series), so the build takes minutes."""

import argparse
import os
import sys
import time
from pathlib import Path

# MINQING_BENCH_CODE=/path/to/another/checkout times that checkout's selectors on the same data (the
# before of a before/after, run back to back).
ROOT = Path(os.environ.get("MINQING_BENCH_CODE") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

PG_URL = "postgres://postgres@127.0.0.1:5432/minqing_bench_visits"
DATASET_VERSION = "visits-due-v1"


def _parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--residents", type=int, default=1_000_000)
    p.add_argument("--visits", type=int, default=5_000_000)
    p.add_argument("--rebuild", action="store_true", help="drop and build the data again")
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--reps", type=int, default=15, help="repetitions per measurement (median reported)")
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the due list's queries once per reader")
    p.add_argument("--recount", action="store_true", help="count every household's kept due date again")
    p.add_argument("--only", default="", help="comma-separated readers: grid,community,district")
    return p.parse_args()


ARGS = _parse_args()
os.environ["DATABASE_URL"] = os.environ.get("MINQING_BENCH_VISITS_DATABASE_URL", PG_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")

import django  # noqa: E402

django.setup()

# From this script's directory, not the package `bench`: MINQING_BENCH_CODE may put another checkout first.
from _dataset import (  # noqa: E402
    area_children,
    fresh,
    open_dataset,
    timed,
    write_marker,
)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from minqing.accounts.models import User  # noqa: E402
from minqing.accounts.roles import Role  # noqa: E402
from minqing.areas.models import Area, AreaLevel  # noqa: E402
from minqing.registry.idnumbers import check_character  # noqa: E402
from minqing.registry.models import Household, Resident, ResidentTag, Tag, TagThreshold  # noqa: E402
from minqing.visits import selectors  # noqa: E402
from minqing.visits.due import household_due_sweep  # noqa: E402
from minqing.visits.models import CarePlanRule, HouseholdDue, Visit  # noqa: E402


def _marker() -> str:
    return f"{DATASET_VERSION}:{ARGS.residents}:{ARGS.visits}"


# The district -----------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = (
    "伟 强 磊 军 洋 勇 杰 涛 明 超 秀英 桂英 秀兰 玉兰 建国 建华 国强 淑珍 玉珍 丽娜 海燕 晓红 德明 福生 "
    "金山 玉成 长青 永福 芳 娜 敏 静 丽 艳 婷婷 雅琪 子轩 浩然 一诺 梓涵 巴特尔 其其格"
).split()


def _token_pool(n: int) -> tuple[list[str], list[str]]:
    """Encrypted ID numbers and phones as EncryptedTextField stores them (the first PII key), a pool
    reused across residents: the page decrypts the members it loads, so the cost is the real one."""
    import random

    from cryptography.fernet import Fernet

    fernet = Fernet(settings.PII_KEYS[0])
    rng = random.Random(6)
    ids, phones = [], []
    for _ in range(n):
        born = f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        first17 = f"150603{born}{rng.randrange(999):03d}"
        ids.append(fernet.encrypt((first17 + check_character(first17)).encode()).decode("ascii"))
        phones.append(fernet.encrypt(f"139{rng.randrange(10**8):08d}".encode()).decode("ascii"))
    return ids, phones


PLACES_SQL = [
    # Three estates per community.
    """INSERT INTO areas_estate (name, address, created_at, community_id)
       SELECT c.name || x.n, '', now(), c.id FROM areas_area c, (VALUES ('东苑'), ('西苑'), ('南苑')) x(n)
       WHERE c.level = 'community'""",
    # %(buildings)s buildings per grid, numbered through the district (unique within an estate).
    """INSERT INTO areas_building (name, floors, created_at, grid_id, estate_id)
       SELECT (g.n * %(buildings)s + k) || '号楼', 6, now(), g.id, e.ids[1 + k %% 3]
       FROM (SELECT id, parent_id, row_number() OVER (ORDER BY id) AS n FROM areas_area WHERE level = 'grid') g
       CROSS JOIN LATERAL (SELECT array_agg(id ORDER BY id) AS ids FROM areas_estate WHERE community_id = g.parent_id) e
       CROSS JOIN generate_series(1, %(buildings)s) k""",
    """INSERT INTO areas_unit (name, created_at, building_id)
       SELECT u || '单元', now(), b.id FROM areas_building b CROSS JOIN generate_series(1, 2) u""",
    # 12–20 dwellings per building (16 on average), four to a floor.
    """INSERT INTO areas_dwelling (floor, room, housing_type, floor_area, created_at, building_id, unit_id)
       SELECT k / 4 + 1, (k / 4 + 1) || '0' || (k %% 4 + 1), 'commercial', 90, now(), b.id, u.ids[1 + (k / 2) %% 2]
       FROM areas_building b
       CROSS JOIN LATERAL (SELECT array_agg(id ORDER BY id) AS ids FROM areas_unit WHERE building_id = b.id) u
       CROSS JOIN LATERAL generate_series(0, 11 + 2 * mod(b.id * 31, 5)) k""",
    # A household per dwelling, two in one dwelling of 25 (合租). Registered one to eight years ago;
    # 1 %% in the last 80 days (new arrivals, whose clock starts on that day).
    """INSERT INTO registry_household (number, created_at, dwelling_id)
       SELECT '', now() - (CASE WHEN random() < 0.01 THEN random() * 80 ELSE 400 + random() * 2500 END)
                          * interval '1 day', d.id
       FROM areas_dwelling d
       CROSS JOIN LATERAL generate_series(1, CASE WHEN mod(d.id * 7919, 25) = 0 THEN 2 ELSE 1 END) k""",
    # Household sizes 1–5 (12/25/30/20/13 %%); 5 %% of heads are 80 or older.
    """CREATE UNLOGGED TABLE bench_household AS
       SELECT h.id, h.dwelling_id,
              CASE WHEN r1 < 0.12 THEN 1 WHEN r1 < 0.37 THEN 2 WHEN r1 < 0.67 THEN 3 WHEN r1 < 0.87 THEN 4 ELSE 5 END
                  AS size,
              CASE WHEN r2 < 0.05 THEN 80 + floor(r3 * 16)::int ELSE 24 + floor(r3 * 56)::int END AS head_age
       FROM (SELECT h.*, random() AS r1, random() AS r2, random() AS r3 FROM registry_household h) h""",
]

RESIDENTS_SQL = """
INSERT INTO registry_resident (
    relation, name, name_pinyin, name_initials, document_kind, id_number, id_number_hash, birth_date, sex,
    phone, phone_hash, ethnicity, registration_type, political_status, occupation, employer, skills,
    willing_to_serve, notes, health_notes, status, moved_in_on, left_on, left_to, created_at, updated_at,
    dwelling_id, household_id)
SELECT relation,
       (%(surnames)s::text[])[1 + floor(r_name * %(n_surnames)s)::int]
           || (%(given)s::text[])[1 + floor(r_given * %(n_given)s)::int],
       '', '', 'citizen_id', (%(ids)s::text[])[1 + floor(r_id * %(n_tokens)s)::int], NULL,
       current_date - (age * 365.25 + floor(r_day * 365))::int,
       CASE WHEN r_sex < 0.5 THEN 'M' ELSE 'F' END,
       CASE WHEN age >= 16 AND r_phone < 0.85
            THEN (%(phones)s::text[])[1 + floor(r_id * %(n_tokens)s)::int] ELSE '' END,
       NULL,
       '01', 'household', 'masses', '', '', '', false, '', '',
       CASE WHEN r_status < 0.02 THEN 'moved_out' WHEN r_status < 0.03 THEN 'deceased' ELSE 'active' END,
       current_date - 2100 - floor(r_day * 6000)::int,
       CASE WHEN r_status < 0.03 THEN current_date - 1 - floor(r_day * 2000)::int END,
       CASE WHEN r_status < 0.02 THEN '外地' ELSE '' END,
       now(), now(), dwelling_id, household_id
FROM (
    SELECT hh.id AS household_id, hh.dwelling_id, m.*,
           CASE WHEN k = 1 THEN hh.head_age
                WHEN k = 2 THEN greatest(20, hh.head_age + floor(m.r_age * 9)::int - 4)
                WHEN hh.head_age > 50 AND m.r_rel < 0.15 THEN least(hh.head_age + 22 + floor(m.r_age * 8)::int, 99)
                ELSE greatest(0, hh.head_age - 22 - floor(m.r_age * 15)::int) END AS age,
           CASE WHEN k = 1 THEN 'head' WHEN k = 2 THEN 'spouse'
                WHEN hh.head_age > 50 AND m.r_rel < 0.15 THEN 'parent'
                WHEN m.r_sex < 0.5 THEN 'son' ELSE 'daughter' END AS relation
    FROM bench_household hh
    CROSS JOIN LATERAL (
        SELECT k, random() AS r_age, random() AS r_rel, random() AS r_sex, random() AS r_name, random() AS r_given,
               random() AS r_id, random() AS r_phone, random() AS r_status, random() AS r_day
        FROM generate_series(1, hh.size) k
    ) m
    WHERE hh.id BETWEEN %(start)s AND %(stop)s
) p
"""

# Care tags in roughly the shares a district's 民政 ledgers show, on active and departed residents
# alike (a departed resident's tags must not count: the due list has to drop them).
TAGS_SQL = """
INSERT INTO registry_residenttag (resident_id, tag_id, grade, detail, created_at)
SELECT r.id, t.id, CASE WHEN t.has_grade THEN 1 + mod(r.id, 4) END, CASE WHEN t.has_grade THEN '肢体' ELSE '' END, now()
FROM registry_resident r
JOIN bench_household hh ON hh.id = r.household_id
JOIN registry_tag t ON t.community_id IS NULL AND t.retired_at IS NULL
WHERE CASE t.name
    WHEN '独居老人' THEN hh.size = 1 AND r.birth_date <= current_date - 60 * 365 AND mod(r.id * 17, 10) < 7
    WHEN '空巢老人' THEN hh.size = 2 AND hh.head_age >= 60 AND mod(hh.id * 13, 10) < 6
    WHEN '低保' THEN r.relation = 'head' AND mod(hh.id * 29, 50) = 0
    WHEN '残疾' THEN mod(r.id * 37, 50) = 0
    WHEN '特困/五保' THEN r.birth_date <= current_date - 60 * 365 AND mod(r.id * 41, 100) = 0
    WHEN '优抚对象' THEN mod(r.id * 43, 200) = 0
    WHEN '退役军人' THEN r.sex = 'M' AND r.birth_date <= current_date - 30 * 365 AND mod(r.id * 47, 30) = 0
    WHEN '留守儿童' THEN r.birth_date > current_date - 16 * 365 AND mod(r.id * 53, 20) = 0
    WHEN '慢性病' THEN r.birth_date <= current_date - 50 * 365 AND mod(r.id * 59, 10) = 0
    ELSE false END
"""

# The strictest interval of each household by the shipped rules (独居老人 7, 高龄 80+ 14, 低保 30,
# every household 90), to give each its rhythm of visits. An approximation of the real plan (the
# communities' own rules are not applied here); the due list itself uses the real rules.
PLAN_SQL = """
CREATE UNLOGGED TABLE bench_plan AS
SELECT q.*, u.id AS worker_id,
       CASE WHEN q.registered_days < 90 OR r_never < 0.03 THEN 0
            ELSE 1 + floor(r_n * (2 * (CASE q.interval_days WHEN 7 THEN 47 WHEN 14 THEN 24 WHEN 30 THEN 11
                                                            ELSE %(m90)s END) - 1))::int END AS n,
       least(q.interval_days * 1.25 * r_last, q.registered_days) AS last_days
FROM (
    SELECT h.id, h.dwelling_id, extract(day FROM now() - h.created_at)::int AS registered_days,
           coalesce(min(CASE WHEN t.name = '独居老人' THEN 7 WHEN r.birth_date <= current_date - 80 * 365 THEN 14
                             WHEN t.name = '低保' THEN 30 END), 90) AS interval_days,
           random() AS r_never, random() AS r_n, random() AS r_last
    FROM registry_household h
    LEFT JOIN registry_resident r ON r.household_id = h.id AND r.status = 'active'
    LEFT JOIN registry_residenttag rt ON rt.resident_id = r.id
    LEFT JOIN registry_tag t ON t.id = rt.tag_id
    GROUP BY h.id
) q
JOIN areas_dwelling d ON d.id = q.dwelling_id
JOIN areas_building b ON b.id = d.building_id
JOIN accounts_user u ON u.area_id = b.grid_id AND u.role = 'grid_worker'
"""

# The last visit `last_days` ago (a quarter of a cycle overdue at most, so about a fifth of the
# households are due), the others spread over the rest of the year.
VISITS_SQL = """
INSERT INTO visits_visit (household_id, resident_id, visited_at, worker_id, purpose, note, temperature, systolic,
                          diastolic, flags, idempotency_key, ticket_id, created_at)
SELECT p.id, NULL, v.at, p.worker_id,
       CASE WHEN p.interval_days < 90 THEN 'care'
            ELSE (ARRAY['routine', 'four_questions', 'safety', 'policy', 'routine'])[1 + mod(v.k, 5)] END,
       '', NULL, NULL, NULL, '[]'::jsonb, NULL, NULL, v.at
FROM bench_plan p
CROSS JOIN LATERAL (
    SELECT k, now() - (CASE WHEN k = 1 THEN p.last_days
                            ELSE p.last_days + random() * greatest(0, least(365, p.registered_days) - p.last_days) END)
                      * interval '1 day' AS at
    FROM generate_series(1, p.n) k
) v
WHERE p.id BETWEEN %(start)s AND %(stop)s
"""


def _community_rules(comms: list[Area]) -> None:
    """Demo-like local plans: most communities keep the shipped defaults, some set their own."""
    tags = {t.name: t for t in Tag.objects.filter(community=None)}
    rules = []
    for c in comms[0:20]:
        rules.append(CarePlanRule(community=c, tag=tags["残疾"], interval_days=30, responsible="grid_worker"))
    for c in comms[20:40]:
        rules.append(CarePlanRule(community=c, tag=tags["空巢老人"], interval_days=14, responsible="liaison"))
    for c in comms[40:50]:
        rules.append(CarePlanRule(community=c, tag=tags["低保"], interval_days=21, responsible="grid_worker"))
    for c in comms[50:60]:
        rules.append(CarePlanRule(community=c, tag=None, interval_days=60, responsible="grid_worker"))
    CarePlanRule.objects.bulk_create(rules)
    TagThreshold.objects.bulk_create(TagThreshold(community=c, tag=tags["高龄"], min_age=70) for c in comms[60:70])
    # Five communities keep a tag of their own (失独家庭) with a rule of 15 days.
    for c in comms[70:75]:
        own = Tag.objects.create(community=c, name="失独家庭", sensitive=False, order=200)
        CarePlanRule.objects.create(community=c, tag=own, interval_days=15, responsible="liaison")
        with connection.cursor() as cur:
            cur.execute(
                """INSERT INTO registry_residenttag (resident_id, tag_id, grade, detail, created_at)
                   SELECT r.id, %s, NULL, '', now() FROM registry_resident r
                   JOIN areas_dwelling d ON d.id = r.dwelling_id JOIN areas_building b ON b.id = d.building_id
                   JOIN areas_area g ON g.id = b.grid_id
                   WHERE g.parent_id = %s AND r.relation = 'head' AND mod(r.id * 61, 200) = 0""",
                [own.pk, c.pk],
            )


def _visit_indexes_dropped():
    """The visits table's secondary indexes, dropped for the bulk insert and built again after it
    (one sort per index instead of 5,000,000 insertions into each)."""
    with connection.cursor() as c:
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'visits_visit' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'visits_visit'::regclass)"
        )
        indexes = c.fetchall()
        for name, _definition in indexes:
            c.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes]


def build() -> None:
    t0 = time.perf_counter()
    print("migrate …", flush=True)
    call_command("migrate", verbosity=0)

    def step(label: str) -> None:
        print(f"  {label} ({time.perf_counter() - t0:.0f} s)", flush=True)

    with transaction.atomic():
        district = Area.objects.create(level=AreaLevel.DISTRICT, code="150603", name="民安区", path="")
        district.path = f"/{district.pk}/"
        district.save(update_fields=["path"])
        subs = area_children([district], AreaLevel.SUBDISTRICT, 10, lambda p, i: f"第{i}街道")
        comms = area_children(subs, AreaLevel.COMMUNITY, 10, lambda p, i: f"{p.name}{i}社区")
        grids = area_children(comms, AreaLevel.GRID, 10, lambda p, i: f"{p.name}第{i}网格")
        users = [
            User(username=f"grid{g.pk}", display_name=g.name, role=Role.GRID_WORKER, area=g, password="!")
            for g in grids
        ]
        users += [
            User(username=f"staff{c.pk}", display_name=c.name, role=Role.COMMUNITY_STAFF, area=c, password="!")
            for c in comms
        ]
        users.append(
            User(username="bench_district", display_name="区级", role=Role.DISTRICT_STAFF, area=district, password="!")
        )
        User.objects.bulk_create(users)
    # ~3.09 residents per dwelling (2.97 per household, 1.04 households per dwelling), 16 per building.
    buildings = max(1, round(ARGS.residents / 3.09 / 16 / len(grids)))
    ids, phones = _token_pool(500)
    with connection.cursor() as c:
        c.execute("SELECT setseed(0.20261124)")
        for sql in PLACES_SQL:
            c.execute(sql, {"buildings": buildings})
        step(f"places and households ({buildings} buildings per grid)")
        c.execute("SELECT min(id), max(id) FROM bench_household")
        low, high = c.fetchone()
        for start in range(low, high + 1, 50_000):
            c.execute(
                RESIDENTS_SQL,
                {
                    "start": start,
                    "stop": start + 49_999,
                    "surnames": list(SURNAMES),
                    "n_surnames": len(SURNAMES),
                    "given": GIVEN,
                    "n_given": len(GIVEN),
                    "ids": ids,
                    "phones": phones,
                    "n_tokens": len(ids),
                },
            )
        step("residents")
        c.execute("ANALYZE registry_resident")
        c.execute(TAGS_SQL)
        _community_rules(comms)
        step("tags and rules")
        c.execute("ANALYZE")
        # Visits per household by its interval: 47 a year for a weekly one … and m90 for the others,
        # chosen so that the total comes to --visits.
        c.execute(PLAN_SQL.replace("%(m90)s", "1"))
        c.execute(
            "SELECT interval_days, count(*) FILTER (WHERE n > 0) FROM bench_plan GROUP BY interval_days ORDER BY 1"
        )
        counts = dict(c.fetchall())
        care = counts.get(7, 0) * 47 + counts.get(14, 0) * 24 + counts.get(30, 0) * 11
        m90 = max(1.0, (ARGS.visits - care) / max(1, counts.get(90, 0)))
        c.execute("DROP TABLE bench_plan")
        c.execute(PLAN_SQL.replace("%(m90)s", f"{m90:.3f}"))
        step(f"plan: households by interval {counts}, {m90:.1f} visits a year for the others")
        definitions = _visit_indexes_dropped()
        for start in range(low, high + 1, 50_000):
            c.execute(VISITS_SQL, {"start": start, "stop": start + 49_999})
        step("visits")
        for definition in definitions:
            c.execute(definition)
        step(f"{len(definitions)} visit indexes built")
        c.execute("DROP TABLE bench_plan")
        c.execute("DROP TABLE bench_household")
    write_marker(_marker())
    print("  VACUUM ANALYZE …", flush=True)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)


# Measuring -------------------------------------------------------------------------------------

PAGE = 30  # visits.views.PER_PAGE


def _due_page(user, today, per_page=PAGE):
    """The due list as the API runs it (50 rows) and a grid worker's 今日走访 (30): the count, the
    first page, the reasons for that page."""
    qs = selectors.due_for(fresh(user), today)
    count = qs.count()
    rows = list(qs[:per_page])
    selectors.attach_reasons(user, rows, today)
    return count, rows


def _staff_page(user, today):
    """Staff's 今日走访 (visits.views.today): the table by grid, whose sum is the count shown, then the
    first page and its reasons."""
    table = selectors.due_summary_by_grid(fresh(user), today)
    rows = list(selectors.due_for(fresh(user), today)[:PAGE])
    selectors.attach_reasons(user, rows, today)
    return sum(r["overdue"] + r["due_today"] for r in table), rows


def _explain(label: str, fn) -> None:
    with CaptureQueriesContext(connection) as queries:
        fn()
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
    for q in slowest:
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            plan = "\n".join("    " + row[0] for row in c.fetchall())
        print(f"\n  {label} ({float(q['time']) * 1000:.0f} ms):\n{plan}\n", flush=True)


def _readers() -> list[tuple[str, str, User]]:
    comms = list(Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("pk"))
    community = comms[5]  # one with a local rule on a sensitive tag (残疾 30 days)
    grid = Area.objects.filter(parent=community).order_by("pk").first()
    users = User.objects.select_related("area")
    return [
        ("grid", "网格员（一个网格）", users.get(role=Role.GRID_WORKER, area=grid)),
        ("community", "社区工作者（一个社区）", users.get(role=Role.COMMUNITY_STAFF, area=community)),
        ("district", "区级（全区）", users.get(username="bench_district")),
    ]


def count_kept() -> None:
    """The kept due dates (visits.due): the first count of every household, as the sweep does it after
    the migration; then ANALYZE, as autovacuum would."""
    call_command("migrate", verbosity=0)
    if HouseholdDue.objects.filter(counted_on=timezone.localdate()).exists() and not ARGS.recount:
        return
    HouseholdDue.objects.all().delete()
    started = time.perf_counter()
    written = household_due_sweep()
    print(f"kept due dates: {written:,} households counted in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as c:
        c.execute(f"VACUUM ANALYZE {HouseholdDue._meta.db_table}")


def measure() -> None:
    only = set(ARGS.only.split(",")) if ARGS.only else {"grid", "community", "district"}
    today = timezone.localdate()
    print(
        f"\n{Resident.objects.count():,} residents in {Household.objects.count():,} households, "
        f"{ResidentTag.objects.count():,} care tags, {Visit.objects.count():,} visits; "
        f"load average {os.getloadavg()}; {ARGS.reps} reps\n"
    )
    print("| reader | measurement | median ms | max ms | rows / count |")
    print("|---|---|---:|---:|---|")
    for key, label, user in _readers():
        if key not in only:
            continue
        households = selectors.registry.households_visible_to(fresh(user)).count()
        if key == "grid":
            med, mx, (count, rows) = timed(lambda u=user: _due_page(u, today), ARGS.reps)
            what = f"今日走访：计数 + 首页 {PAGE} 户 + 原因"
        else:
            med, mx, (count, rows) = timed(lambda u=user: _staff_page(u, today), ARGS.reps)
            what = f"今日走访：按网格汇总（即计数）+ 首页 {PAGE} 户 + 原因"
        print(f"| {label}，{households:,} 户 | {what} | {med:.1f} | {mx:.1f} | {len(rows)} of {count:,} |", flush=True)
        med, mx, (count, rows) = timed(lambda u=user: _due_page(u, today, 50), ARGS.reps)
        print(
            f"| {label} | GET /api/v1/visits/due：计数 + 首页 50 户 + 原因 | {med:.1f} | {mx:.1f} "
            f"| {len(rows)} of {count:,} |",
            flush=True,
        )
        if ARGS.explain:
            _explain(f"{label} — due list", lambda u=user: _due_page(u, today))
    print(f"\nload average after: {os.getloadavg()}")


def main() -> None:
    open_dataset(rebuild=ARGS.rebuild, marker=_marker(), build=build)
    if ARGS.build_only:
        return
    count_kept()
    measure()


if __name__ == "__main__":
    main()
