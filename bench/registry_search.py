"""Resident search at district scale: build (once) a database of N residents, then time
selectors.search_residents + the first page (count + 20 rows, as the list page and the API do)
for each kind of query and each kind of reader.

    # PostgreSQL, 1,000,000 residents (built on first run, ~5 min; reused while the marker matches)
    .venv/bin/python bench/registry_search.py
    # SQLite, 100,000 residents
    .venv/bin/python bench/registry_search.py --sqlite --residents 100000
    # Rebuild, more repetitions, EXPLAIN ANALYZE of one value per kind for the district reader
    .venv/bin/python bench/registry_search.py --rebuild --reps 50 --explain

The figure to meet (issue): median under 50 ms server time on PostgreSQL. "Server time" is the
selector's queries measured in-process with time.perf_counter (no HTTP, no template)."""

import argparse
import datetime
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = "postgres://postgres@127.0.0.1:5432/minqing_bench"
SQLITE_PATH = Path(os.environ.get("MINQING_BENCH_SQLITE", "/tmp/minqing_bench.sqlite3"))
DATASET_VERSION = "registry-search-v2"

# Surnames with their share of the population in percent (roughly the national ranking).
SURNAMES = {
    "王": 7.1, "李": 7.0, "张": 6.7, "刘": 5.4, "陈": 4.6, "杨": 3.1, "赵": 2.3, "黄": 2.2, "周": 2.1,
    "吴": 2.0, "徐": 1.7, "孙": 1.5, "胡": 1.3, "朱": 1.3, "高": 1.2, "林": 1.2, "何": 1.2, "郭": 1.1,
    "马": 1.1, "罗": 0.9, "梁": 0.8, "宋": 0.8, "郑": 0.8, "谢": 0.7, "韩": 0.7, "唐": 0.6, "冯": 0.6,
    "于": 0.6, "董": 0.6, "萧": 0.5, "程": 0.5, "曹": 0.5, "袁": 0.5, "邓": 0.5, "许": 0.5, "傅": 0.4,
    "沈": 0.4, "曾": 0.4, "彭": 0.4, "吕": 0.4, "苏": 0.4, "卢": 0.4, "蒋": 0.4, "蔡": 0.4, "贾": 0.4,
    "丁": 0.3, "魏": 0.3, "薛": 0.3, "叶": 0.3, "阎": 0.3, "余": 0.3, "潘": 0.3, "杜": 0.3, "戴": 0.3,
    "夏": 0.3, "钟": 0.3, "汪": 0.3, "田": 0.3, "任": 0.3, "姜": 0.3, "范": 0.3, "方": 0.3, "石": 0.3,
    "姚": 0.3, "谭": 0.3, "廖": 0.3, "邹": 0.3, "熊": 0.3, "金": 0.3, "陆": 0.3, "郝": 0.3, "孔": 0.3,
    "白": 0.3, "崔": 0.3, "康": 0.3, "毛": 0.3, "邱": 0.3, "秦": 0.3, "江": 0.3, "史": 0.3, "乔": 0.3,
    "奥": 0.1, "云": 0.1, "包": 0.2, "奇": 0.1,
}  # fmt: skip
GIVEN_MALE = (
    "伟 强 磊 军 洋 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 鑫 波 斌 宇 浩 凯 健 俊 帆 帅 旭 宁 龙 林 "
    "建国 建华 国强 志强 建军 海涛 晓东 文博 浩然 子轩 宇航 俊杰 志鹏 家豪 天宇 泽宇 一鸣 国庆 振华 德明 "
    "福生 金山 玉成 长青 永福 保国 红兵 卫东 永强 海军 利平 文斌 明轩 浩宇 梓豪 睿 博文 皓轩"
).split()
GIVEN_FEMALE = (
    "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 琳 慧 颖 倩 洁 晶 悦 萍 红 梅 莉 蕾 佳 "
    "秀英 桂英 秀兰 玉兰 桂兰 凤英 淑珍 玉珍 丽娜 海燕 晓红 春艳 红梅 丽华 秀梅 彩霞 美玲 "
    "婷婷 雅琪 佳怡 思琪 欣然 晓雪 梦瑶 雨婷 梓涵 欣怡 诗涵 雨桐 可馨 一诺 子萱"
).split()
GIVEN_CHARS_MALE = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰"
    "涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦"
)
GIVEN_CHARS_FEMALE = (
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼"
    "勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰"
)
MONGOL_NAMES = (
    "巴特尔 苏和 额尔敦 孟和 乌力吉 巴图 那日苏 宝音 朝鲁 毕力格 其其格 萨仁 乌云 斯琴 娜仁 图雅 高娃 托娅"
).split()
REGIONS = ["150602"] * 6 + ["150603"] * 4 + ["150621", "150622", "150627", "150626", "610802", "140602"]
MOBILE_PREFIXES = "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 180 186 187 188 189".split()
# Household sizes 1–5, about three people per dwelling.
SIZES, SIZE_WEIGHTS = [1, 2, 3, 4, 5], [12, 25, 30, 20, 13]


def _parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sqlite", action="store_true", help=f"SQLite file {SQLITE_PATH} instead of PostgreSQL")
    p.add_argument("--residents", type=int, default=None, help="1,000,000 on PostgreSQL, 100,000 on SQLite")
    p.add_argument("--rebuild", action="store_true", help="drop and build the data again")
    p.add_argument("--reps", type=int, default=30, help="different values per query kind and reader")
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one value per kind (district)")
    p.add_argument("--workers", type=int, default=2, help="processes encrypting ID numbers and phones")
    p.add_argument(
        "--count",
        choices=["exact", "capped"],
        default="capped",
        help="qs.count(), or core.pagination.count_capped (at most 1,001 rows counted, shown as 1000+)",
    )
    p.add_argument("--only", default="", help="comma-separated readers: district,community,grid")
    p.add_argument("--household-page", action="store_true", help="also time the household page (10 members)")
    args = p.parse_args()
    if args.residents is None:
        args.residents = 100_000 if args.sqlite else 1_000_000
    return args


ARGS = _parse_args()
if ARGS.sqlite:
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
else:
    os.environ["DATABASE_URL"] = os.environ.get("MINQING_BENCH_DATABASE_URL", PG_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._dataset import area_children, ensure_postgres_database, read_marker, write_marker  # noqa: E402
from minqing.accounts.models import User  # noqa: E402
from minqing.accounts.roles import Role  # noqa: E402
from minqing.areas.models import Area, AreaLevel  # noqa: E402
from minqing.core.pagination import count_capped  # noqa: E402
from minqing.core.pii import pii_hash  # noqa: E402
from minqing.registry import selectors  # noqa: E402
from minqing.registry.cleaning import name_pinyin  # noqa: E402
from minqing.registry.idnumbers import check_character  # noqa: E402
from minqing.registry.models import Resident  # noqa: E402

# Database set-up --------------------------------------------------------------------------------


def _ensure_database(rebuild: bool) -> None:
    if ARGS.sqlite:
        if rebuild and SQLITE_PATH.exists():
            SQLITE_PATH.unlink()
        return
    ensure_postgres_database(rebuild)


def _marker() -> str:
    # The data holds tokens under the current key and hashes under the current hash key.
    key_id = pii_hash(settings.PII_KEYS[0], "bench")[:12]
    return f"{DATASET_VERSION}:{ARGS.residents}:{key_id}"


# Writing rows fast ------------------------------------------------------------------------------


def _insert(table: str, columns: list[str], rows) -> int:
    """COPY on PostgreSQL, executemany on SQLite."""
    rows = iter(rows)
    n = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            with c.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as c:
        while batch := list(itertools.islice(rows, 20000)):
            c.executemany(sql, [[_sqlite_value(v) for v in row] for row in batch])
            n += len(batch)
    return n


def _sqlite_value(value):
    # As Django stores them on SQLite: naive UTC timestamps and ISO dates, as text.
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _reset_sequences(tables: list[str]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as c:
        for table in tables:
            c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


_FERNET = None


def _init_worker(key: str) -> None:
    global _FERNET
    from cryptography.fernet import Fernet

    _FERNET = Fernet(key)


def _encrypt_chunk(values: list[str]) -> list[str]:
    # The token EncryptedTextField would store: MultiFernet encrypts with the first key.
    return [_FERNET.encrypt(v.encode()).decode("ascii") if v else "" for v in values]


# The district -----------------------------------------------------------------------------------


def build(n_residents: int) -> None:
    t0 = time.perf_counter()
    print(f"migrate {connection.vendor} …", flush=True)
    call_command("migrate", verbosity=0)
    now = timezone.now()
    rng = random.Random(20251123)
    # Scale the places with the residents: 1M → 10 subdistricts, 100 communities, 1,000 grids.
    scale = max(n_residents / 1_000_000, 0.01)
    n_sub = max(1, round(10 * min(scale * 10, 1)))
    n_comm_per_sub = max(1, round(10 * min(scale * 10, 1)))
    n_grids_per_comm = max(1, round(10 * min(scale * 10, 1)))
    if scale < 0.1:
        n_sub, n_comm_per_sub, n_grids_per_comm = 2, 5, 10
    with transaction.atomic():
        district = Area.objects.create(level=AreaLevel.DISTRICT, code="150603", name="民安区", path="")
        district.path = f"/{district.pk}/"
        district.save(update_fields=["path"])

        subs = area_children([district], AreaLevel.SUBDISTRICT, n_sub, lambda p, i: f"第{i}街道")
        comms = area_children(subs, AreaLevel.COMMUNITY, n_comm_per_sub, lambda p, i: f"{p.name}{i}社区")
        grids = area_children(comms, AreaLevel.GRID, n_grids_per_comm, lambda p, i: f"{p.name}第{i}网格")
        print(f"  areas: {1 + len(subs) + len(comms) + len(grids)}", flush=True)

        # Estates (3 per community), buildings (~20 per grid), units (2 per building), dwellings.
        est_rows, estate_of_comm = [], {}
        eid = 0
        for comm in comms:
            for i in range(3):
                eid += 1
                est_rows.append((eid, f"{comm.name}{'东西南'[i]}苑", "", now, comm.pk))
                estate_of_comm.setdefault(comm.pk, []).append(eid)
        _insert("areas_estate", ["id", "name", "address", "created_at", "community_id"], est_rows)
        dwellings_needed = n_residents / 3.03
        buildings_per_grid = max(1, round(dwellings_needed / 16.5 / len(grids)))
        b_rows, u_rows, d_rows = [], [], []
        bid = uid = did = 0
        counters = {}
        for grid in grids:
            estates = estate_of_comm[grid.parent_id]
            for _ in range(buildings_per_grid):
                bid += 1
                estate = estates[bid % 3]
                counters[estate] = counters.get(estate, 0) + 1
                floors = rng.choice([6, 6, 6, 11, 18])
                b_rows.append((bid, f"{counters[estate]}号楼", floors, now, grid.pk, estate))
                units = []
                for u in (1, 2):
                    uid += 1
                    units.append(uid)
                    u_rows.append((uid, f"{u}单元", now, bid))
                # ~16.5 dwellings per building on average
                per_building = rng.choice([12, 16, 16, 18, 20])
                for k in range(per_building):
                    did += 1
                    floor = k // 4 + 1
                    d_rows.append(
                        (did, floor, f"{floor}0{k % 2 + 1}" + ("" if k % 4 < 2 else "B"), "commercial", 90, now, bid,
                         units[(k // 2) % 2])
                    )  # fmt: skip
        _insert("areas_building", ["id", "name", "floors", "created_at", "grid_id", "estate_id"], b_rows)
        _insert("areas_unit", ["id", "name", "created_at", "building_id"], u_rows)
        _insert(
            "areas_dwelling",
            ["id", "floor", "room", "housing_type", "floor_area", "created_at", "building_id", "unit_id"],
            d_rows,
        )
        print(f"  estates {len(est_rows)}, buildings {len(b_rows)}, dwellings {len(d_rows)}", flush=True)
        _reset_sequences(["areas_estate", "areas_building", "areas_unit", "areas_dwelling"])
        dwelling_ids = [row[0] for row in d_rows]
        del b_rows, u_rows, d_rows

        _residents(rng, n_residents, dwelling_ids, now)
        _reset_sequences(["registry_household", "registry_resident"])

        # The readers timed: district staff, a community's staff, a grid worker.
        community = comms[len(comms) // 2]
        grid = next(g for g in grids if g.parent_id == community.pk)
        for username, role, area in (
            ("bench_district", Role.DISTRICT_STAFF, district),
            ("bench_community", Role.COMMUNITY_STAFF, community),
            ("bench_grid", Role.GRID_WORKER, grid),
        ):
            User.objects.create(username=username, display_name=username, role=role, area=area, password="!")
        write_marker(_marker())
    print(f"  loaded in {time.perf_counter() - t0:.0f} s; ANALYZE …", flush=True)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)


def _name(rng: random.Random, surnames, weights, male: bool) -> str:
    if rng.random() < 0.04:
        return rng.choice(MONGOL_NAMES)
    # Given names: a common one (伟, 建国 …) for a quarter of people, else one or two characters
    # from a pool, so that 张伟 is about as frequent as in the census (a few in 10,000).
    r = rng.random()
    if r < 0.25:
        given = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    else:
        chars = GIVEN_CHARS_MALE if male else GIVEN_CHARS_FEMALE
        given = rng.choice(chars) if r < 0.45 else rng.choice(chars) + rng.choice(chars)
    return rng.choices(surnames, weights)[0] + given


def _residents(rng: random.Random, n_residents: int, dwelling_ids: list[int], now) -> None:
    today = datetime.date.today()
    surnames, weights = list(SURNAMES), list(SURNAMES.values())
    pinyin_cache: dict[str, tuple[str, str]] = {}
    seen_ids: set[str] = set()
    h_cols = ["id", "number", "created_at", "dwelling_id"]
    r_cols = [
        "id", "relation", "name", "name_pinyin", "name_initials", "document_kind", "id_number", "id_number_hash",
        "birth_date", "sex", "phone", "phone_hash", "ethnicity", "registration_type", "political_status",
        "occupation", "employer", "skills", "willing_to_serve", "notes", "health_notes", "status", "moved_in_on",
        "left_on", "left_to", "created_at", "updated_at", "dwelling_id", "household_id",
    ]  # fmt: skip
    pool = multiprocessing.get_context("fork").Pool(ARGS.workers, _init_worker, (settings.PII_KEYS[0],))
    households, chunk = [], []
    rid = hid = 0
    t0 = time.perf_counter()

    def person(relation, age, male, household_id, dwelling_id):
        nonlocal rid
        rid += 1
        name = _name(rng, surnames, weights, male)
        if name not in pinyin_cache:
            pinyin_cache[name] = name_pinyin(name)
        py, initials = pinyin_cache[name]
        birth = today - datetime.timedelta(days=int((age + rng.random()) * 365.25))
        while True:
            first17 = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(0, 500) * 2 + male:03d}"
            number = first17 + check_character(first17)
            if number not in seen_ids:
                seen_ids.add(number)
                break
        phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}" if age >= 16 and rng.random() < 0.85 else ""
        r = rng.random()
        status, left_on, left_to = ("active", None, "")
        if r < 0.02:
            status, left_on, left_to = "moved_out", today - datetime.timedelta(days=rng.randint(1, 2000)), "外地"
        elif r < 0.03:
            status, left_on = "deceased", today - datetime.timedelta(days=rng.randint(1, 2000))
        moved_in = max(birth, today - datetime.timedelta(days=rng.randint(2100, 9000)))
        return [
            rid, relation, name, py, initials, "citizen_id", number, pii_hash(number, "id_number"),
            birth, "M" if male else "F", phone, pii_hash(phone, "phone") if phone else None,
            "02" if rng.random() < 0.08 else "01", "household" if rng.random() < 0.85 else "floating",
            "cpc_member" if rng.random() < 0.08 else "masses", "", "", "", False, "", "", status, moved_in,
            left_on, left_to, now, now, dwelling_id, household_id,
        ]  # fmt: skip

    def flush(rows):
        ids = pool.map(_encrypt_chunk, [[r[6] for r in rows[i : i + 5000]] for i in range(0, len(rows), 5000)])
        phones = pool.map(_encrypt_chunk, [[r[10] for r in rows[i : i + 5000]] for i in range(0, len(rows), 5000)])
        for r, token_id, token_phone in zip(rows, itertools.chain(*ids), itertools.chain(*phones), strict=True):
            r[6], r[10] = token_id, token_phone
        _insert("registry_resident", r_cols, rows)

    di = 0
    while rid < n_residents:
        dwelling = dwelling_ids[di % len(dwelling_ids)]
        di += 1
        for _ in range(2 if rng.random() < 0.04 else 1):
            hid += 1
            households.append((hid, "", now, dwelling))
            size = min(rng.choices(SIZES, SIZE_WEIGHTS)[0], n_residents - rid)
            head_age = rng.randint(24, 88)
            male = rng.random() < 0.6
            chunk.append(person("head", head_age, male, hid, dwelling))
            if size >= 2:
                chunk.append(person("spouse", max(20, head_age + rng.randint(-4, 4)), not male, hid, dwelling))
            for _k in range(size - 2):
                if head_age > 45 and rng.random() < 0.3:
                    chunk.append(person("parent", min(head_age + 26, 100), rng.random() < 0.4, hid, dwelling))
                else:
                    child_male = rng.random() < 0.5
                    relation = "son" if child_male else "daughter"
                    chunk.append(person(relation, max(0, head_age - rng.randint(22, 36)), child_male, hid, dwelling))
            if rid >= n_residents:
                break
        if len(chunk) >= 50_000:
            _insert("registry_household", h_cols, households)
            households = []
            flush(chunk)
            chunk = []
            rate = rid / (time.perf_counter() - t0)
            print(f"  residents {rid:,} ({rate:,.0f}/s)", flush=True)
    _insert("registry_household", h_cols, households)
    if chunk:
        flush(chunk)
    pool.close()
    print(f"  residents {rid:,}, households {hid:,}, distinct names {len(pinyin_cache):,}", flush=True)


# Timing -----------------------------------------------------------------------------------------


def _first_page(user, q: str) -> tuple[int, list]:
    user._minqing_scope = None  # a new request computes the scope again
    qs = selectors.search_residents(user, selectors.ResidentFilters(q=q))
    count = qs.count() if ARGS.count == "exact" else count_capped(qs, selectors.SEARCH_COUNT_CAP)[0]
    return count, list(qs[:20])


def _values(user, kind: str, reps: int, rng: random.Random) -> list[str]:
    """`reps` different search values of one kind, taken from residents the reader can see."""
    visible = selectors.residents_visible_to(user).filter(status="active")
    if kind == "surname":
        return [s for s in list(SURNAMES)[: reps + 5]][:reps]
    # A sample of residents in scope (random primary keys for the whole district: ORDER BY random()
    # would read everything).
    if user.role == Role.DISTRICT_STAFF:
        top = Resident.objects.order_by("-pk").values_list("pk", flat=True).first()
        pks = rng.sample(range(1, top + 1), min(4000, top))
    else:
        pks = list(visible.order_by().values_list("pk", flat=True)[:5000])
    sample = list(Resident.objects.filter(pk__in=rng.sample(pks, min(len(pks), 3000))).order_by("pk"))
    rng.shuffle(sample)
    if kind == "full_name":
        chosen = dict.fromkeys(r.name for r in sample if len(r.name) in (2, 3))
    elif kind == "initials":
        chosen = dict.fromkeys(r.name_initials for r in sample if len(r.name_initials) >= 2)
    elif kind == "pinyin":
        chosen = dict.fromkeys(r.name_pinyin for r in sample if r.name_pinyin)
    elif kind == "id_number":
        chosen = dict.fromkeys(r.id_number for r in sample)
    elif kind == "phone":
        chosen = dict.fromkeys(r.phone for r in sample if r.phone)
    else:
        raise ValueError(kind)
    return list(chosen)[:reps]


KINDS = [
    ("surname", "姓氏前缀（张）"),
    ("full_name", "姓名前缀（张伟）"),
    ("initials", "拼音首字母（zw）"),
    ("pinyin", "全拼（zhangwei）"),
    ("id_number", "身份证号（精确）"),
    ("phone", "手机号（精确）"),
]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(reps: int, explain: bool) -> None:
    rng = random.Random(7)
    users = {u.username: u for u in User.objects.filter(username__startswith="bench_").select_related("area")}
    total = Resident.objects.count()
    print(f"\n{connection.vendor}, {total:,} residents, {reps} values per row, count {ARGS.count}, warm-up 5\n")
    print("| reader | query | median ms | p95 ms | max ms | median hits |")
    print("|---|---|---:|---:|---:|---:|")
    summary = []
    for username, label in (("bench_district", "区级"), ("bench_community", "社区"), ("bench_grid", "网格员")):
        if ARGS.only and username.removeprefix("bench_") not in ARGS.only.split(","):
            continue
        user = users[username]
        for kind, kind_label in KINDS:
            values = _values(user, kind, reps, rng)
            for v in values[:5]:
                _first_page(user, v)
            times, hits = [], []
            for v in values:
                t = time.perf_counter()
                count, rows = _first_page(user, v)
                times.append((time.perf_counter() - t) * 1000)
                hits.append(count)
            med, p95 = statistics.median(times), _pct(times, 95)
            summary.append((label, kind, med, p95))
            print(
                f"| {label} | {kind_label} | {med:.1f} | {p95:.1f} | {max(times):.1f} "
                f"| {statistics.median(hits):.0f} |",
                flush=True,
            )
            if explain and username == "bench_district":
                _explain(user, values[0])
    worst = max(summary, key=lambda s: s[2])
    print(f"\nslowest median: {worst[0]} {worst[1]} {worst[2]:.1f} ms")


def _explain(user, value: str) -> None:
    user._minqing_scope = None
    qs = selectors.search_residents(user, selectors.ResidentFilters(q=value))
    counted = qs.order_by().values("pk")
    if ARGS.count == "capped":
        counted = counted[: selectors.SEARCH_COUNT_CAP + 1]
    for label, query in (("count", counted), ("page", qs[:20])):
        sql, params = query.query.sql_with_params()
        if label == "count":
            sql = f"SELECT count(*) FROM ({sql}) s"
        with connection.cursor() as c:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
            c.execute(prefix + sql, params)
            plan = "\n".join("    " + " ".join(str(x) for x in row) for row in c.fetchall())
        print(f"\n  {label} for {value!r}:\n{plan}\n")


def household_page_time(reps: int) -> None:
    """The household page's selector for a household of 10 members with 50 events, at this scale."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from minqing.registry.models import EventKind, Household, ResidentEvent

    user = User.objects.get(username="bench_community")
    visible = selectors.households_visible_to(user)
    household = visible.filter(number="bench-10").first()
    if household is None:
        base = visible.order_by("pk").first()
        template = list(base.members.all()[:1])[0]
        with transaction.atomic():
            household = Household.objects.create(dwelling=base.dwelling, number="bench-10")
            members = []
            for i in range(10):
                template.pk = None
                template.id_number = ""
                template.id_number_hash = None
                template.household = household
                template.relation = "head" if i == 0 else "son"
                template.save()
                members.append(Resident.objects.get(pk=template.pk))
            ResidentEvent.objects.bulk_create(
                ResidentEvent(
                    resident=members[i % 10],
                    kind=EventKind.MOVED_IN,
                    occurred_on=datetime.date(2020, 1, 1) + datetime.timedelta(days=i),
                    dwelling=base.dwelling,
                )
                for i in range(50)
            )
    times = []
    for _ in range(reps):
        user._minqing_scope = None
        with CaptureQueriesContext(conn) as queries:
            t = time.perf_counter()
            page = selectors.household_page(user, household.pk)
            times.append((time.perf_counter() - t) * 1000)
    print(
        f"\nhousehold_page (10 members, {len(page.events)} events): median {statistics.median(times):.1f} ms, "
        f"p95 {_pct(times, 95):.1f} ms, {len(queries)} queries"
    )
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(q['time']) * 1000:.1f} ms  {q['sql'][:300]}")


def main() -> None:
    _ensure_database(ARGS.rebuild)
    connection.ensure_connection()
    marker = None
    try:
        marker = read_marker()
    except Exception:  # noqa: BLE001 — an empty database has no table yet
        marker = None
    if marker != _marker():
        if marker is not None or (_tables_exist() and Area.objects.exists()):
            print(f"marker {marker!r} ≠ {_marker()!r}: use --rebuild", file=sys.stderr)
            sys.exit(2)
        build(ARGS.residents)
    else:
        print(f"reusing {connection.settings_dict['NAME']} ({marker})")
    reset_queries()
    measure(ARGS.reps, ARGS.explain)
    if ARGS.household_page:
        household_page_time(ARGS.reps)


def _tables_exist() -> bool:
    return "areas_area" in connection.introspection.table_names()


if __name__ == "__main__":
    main()
