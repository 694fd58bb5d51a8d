"""Ledger import benchmark: a generated messy 居民信息台账 (bench/ledger_gen.py) imported end to end
(preview, then commit, which re-reads and re-plans as the page does, reusing the preview's kept
cleaned rows) on SQLite and on PostgreSQL,
each run in a fresh copy of the demo database and in its own process (peak RSS is that process's).
For scale, the same file read by python-calamine alone, and django-import-export importing the
same rows (on a slice, per row, because it saves row by row).

    UV_PYTHON_DOWNLOADS=never uv run --group bench python bench/bench_import.py [--rows 100000] [--runs 3]

Prints medians of the runs and the ratios, measured in the same invocation."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
COMMUNITY = "150603001001"


def _env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "minqing.settings", "PYTHONPATH": str(ROOT)})
    env["MINQING_VAR_DIR"] = str(WORK / "var")
    return env


def _manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql)


def _child(mode: str, path: str, rows: int) -> dict:
    """Runs inside the measured process."""
    import django

    django.setup()
    from django.db import transaction

    from minqing.areas.models import Area
    from minqing.registry.ledger import kept
    from minqing.registry.ledger.importer import write_plan
    from minqing.registry.ledger.reader import read_sheet
    from minqing.registry.ledger.services import plan_file

    out: dict = {}
    if mode == "calamine":
        from python_calamine import CalamineWorkbook

        started = time.perf_counter()
        data = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python(skip_empty_area=False)
        out["seconds"] = time.perf_counter() - started
        out["rows"] = len(data)
    elif mode == "import":
        community = Area.objects.get(code=COMMUNITY)
        started = time.perf_counter()
        read_sheet(path)
        out["read"] = time.perf_counter() - started
        # The preview plans and keeps its cleaned rows beside the file; the commit, in another
        # request or task, re-reads, reuses them, matches against the registry and writes.
        started = time.perf_counter()
        plan = plan_file(path, actor=None, community=community)
        out["preview"] = time.perf_counter() - started
        del plan
        started = time.perf_counter()
        plan = plan_file(path, actor=None, community=community, reuse_kept=True)
        out["commit_plan"] = time.perf_counter() - started
        with transaction.atomic():
            write_plan(plan, actor=None, community=community)
        out["commit"] = time.perf_counter() - started
        kept.discard(path)
        out["total"] = out["preview"] + out["commit"]
        out["summary"] = plan.summary
    elif mode == "iexport":
        out.update(_import_export(path, rows))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _import_export(path: str, rows: int) -> dict:
    """django-import-export on the first `rows` data rows: the columns mapped to the model's fields,
    every row into one existing dwelling and household (it cannot create places), saved with history."""
    import tablib
    from import_export import fields, resources, widgets
    from openpyxl import load_workbook

    from minqing.registry.models import Household, Resident

    household = Household.objects.filter(dwelling__building__grid__parent__code=COMMUNITY).first()
    if household is None:
        from minqing.areas.models import Dwelling

        dwelling = Dwelling.objects.filter(building__grid__parent__code=COMMUNITY).first()
        household = Household.objects.create(dwelling=dwelling)

    class ResidentResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="居民姓名")
        id_number = fields.Field(attribute="id_number", column_name="公民身份号码")
        phone = fields.Field(attribute="phone", column_name="手机号码")
        birth_date = fields.Field(attribute="birth_date", column_name="出生日期", widget=widgets.DateWidget())

        class Meta:
            model = Resident
            fields = ("name", "id_number", "phone", "birth_date")
            import_id_fields = ()
            skip_unchanged = False
            use_bulk = False

        def before_save_instance(self, instance, row, **kwargs):
            instance.household_id = household.pk
            instance.dwelling_id = household.dwelling_id
            instance.id_number = str(instance.id_number or "")[:18]
            instance.phone = str(instance.phone or "")

    started = time.perf_counter()
    sheet = load_workbook(path, read_only=True).active
    raw = list(sheet.iter_rows(values_only=True))
    header = [str(c) if c is not None else "" for c in raw[2]]
    body = [
        tuple("" if c is None else c for c in r)
        for r in raw[3 : 3 + rows]
        if r[1] and r[4] is not None and not isinstance(r[4], str)
    ]
    dataset = tablib.Dataset(*body, headers=header)
    read = time.perf_counter() - started
    result = ResidentResource().import_data(dataset, dry_run=False, raise_errors=False)
    seconds = time.perf_counter() - started
    return {
        "rows": len(body),
        "read_openpyxl": read,
        "seconds": seconds,
        "per_row_ms": seconds / max(len(body), 1) * 1000,
        "errors": len(result.row_errors()),
    }


def _run_child(env: dict, mode: str, path: Path, rows: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), "--rows", str(rows)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Databases:
    """A fresh copy of the migrated demo database per run."""

    def __init__(self):
        self.sqlite_template = WORK / "template.sqlite3"
        self.pg_template = f"minqing_bench_tpl_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []

    def prepare(self, backends: list[str]) -> None:
        if "sqlite" in backends:
            self.sqlite_template.unlink(missing_ok=True)
            env = _env(f"sqlite:///{self.sqlite_template}")
            _manage(env, "migrate", "-v0")
            _manage(env, "demo_data")
        if "pg" in backends:
            _psql(f'CREATE DATABASE "{self.pg_template}"')
            self.created.append(self.pg_template)
            env = _env(PG_URL.rsplit("/", 1)[0] + f"/{self.pg_template}")
            _manage(env, "migrate", "-v0")
            _manage(env, "demo_data")

    def fresh(self, backend: str) -> str:
        if backend == "sqlite":
            target = WORK / f"run-{uuid.uuid4().hex[:6]}.sqlite3"
            shutil.copy(self.sqlite_template, target)
            return f"sqlite:///{target}"
        name = f"minqing_bench_{uuid.uuid4().hex[:6]}"
        _psql(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
        self.created.append(name)
        return PG_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        for name in reversed(self.created):
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for path in WORK.glob("run-*.sqlite3*"):
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument("--iexport-rows", type=int, default=2000, help="rows given to django-import-export")
    parser.add_argument("--skip-iexport", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.rows)))
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from ledger_gen import generate

    WORK.mkdir(parents=True, exist_ok=True)
    ledger = WORK / f"ledger-{args.rows}.xlsx"
    if not ledger.exists():
        generate(ledger, rows=args.rows, seed=1)
    backends = args.backends.split(",")
    dbs = Databases()
    results: dict = {}
    try:
        dbs.prepare(backends)
        calamine = [_run_child(_env(dbs.fresh(backends[0])), "calamine", ledger, args.rows) for _ in range(args.runs)]
        results["calamine_read_s"] = statistics.median(r["seconds"] for r in calamine)
        for backend in backends:
            runs = [_run_child(_env(dbs.fresh(backend)), "import", ledger, args.rows) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("read", "preview", "commit", "total")}
            med["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
            med["summary"] = runs[0]["summary"]
            med["runs_total_s"] = [round(r["total"], 2) for r in runs]
            results[backend] = med
        if not args.skip_iexport:
            results["import_export"] = _run_child(_env(dbs.fresh(backends[0])), "iexport", ledger, args.iexport_rows)
    finally:
        dbs.drop()
    (WORK / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))

    print(f"ledger: {ledger} ({args.rows} data rows), medians of {args.runs} runs, load {os.getloadavg()}")
    print(f"python-calamine read alone: {results['calamine_read_s']:.2f} s")
    for backend in backends:
        r = results[backend]
        print(
            f"{backend}: read {r['read']:.2f} s, preview {r['preview']:.2f} s, commit {r['commit']:.2f} s, "
            f"total {r['total']:.2f} s (runs {r['runs_total_s']}), peak RSS {r['peak_rss_mb']:.0f} MB, "
            f"total / calamine read {r['total'] / results['calamine_read_s']:.1f}×"
        )
        print(f"   summary {r['summary']}")
    ie = results.get("import_export")
    if ie is None:
        return
    per_row_ours = results[backends[0]]["total"] / args.rows * 1000
    print(
        f"django-import-export ({backends[0]}): {ie['rows']} rows in {ie['seconds']:.2f} s = "
        f"{ie['per_row_ms']:.2f} ms/row "
        f"(≈ {ie['per_row_ms'] * args.rows / 1000:.0f} s for {args.rows} rows), {ie['errors']} row errors; "
        f"ours {per_row_ours:.3f} ms/row (preview + commit): {ie['per_row_ms'] / per_row_ours:.0f}× faster"
    )


if __name__ == "__main__":
    main()
