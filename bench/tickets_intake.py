"""Sustained intake of demands over the API: POST /api/v1/tickets against gunicorn in the production
setting (DJANGO_DEBUG=false, real secrets generated for the run, behind a TLS proxy as deploy.md
says), N concurrent clients for S seconds, on PostgreSQL and on SQLite.

    .venv/bin/python bench/tickets_intake.py                       # both databases, 16 clients, 20 s, 3 runs
    .venv/bin/python bench/tickets_intake.py --db sqlite --clients 8 --seconds 10 --runs 1
    .venv/bin/python bench/tickets_intake.py --profile             # + cProfile of 200 intakes in-process

The figure to meet (issue 5): at least 100 registrations per second sustained on this 2-core machine
with a production server, no lost or duplicated number. Each run counts the 201 answers in the
window and then checks in the database that every number answered is stored exactly once (and
nothing else was stored under the run's marker); any other answer is reported.

Each database is fresh: migrated, the demo data loaded with the run's keys; the clients sign in as
staff1 (社区工作者, 嘉和社区) and grid1 (网格员) and post the least body (category, channel, text),
half with a received_at of yesterday. Client threads run on the same 2 cores as the server, over
keep-alive connections (http.client), so the figure includes their cost."""

import argparse
import base64
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
PG_DB = "minqing_bench_intake"
PASSWORD = "Minqing@2025"


def _parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    p.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    p.add_argument("--seconds", type=float, default=20.0, help="length of one run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (deploy.md: 4)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (deploy.md: 4)")
    p.add_argument("--port", type=int, default=18731)
    p.add_argument("--profile", action="store_true", help="cProfile 200 intakes through the test client")
    return p.parse_args()


def production_env(database_url: str, var_dir: Path) -> dict:
    """The settings deploy.md lists, with secrets made for this run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MINQING_", "DATABASE_"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_BEHIND_TLS_PROXY="true",
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="60",
        MINQING_PII_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        MINQING_PII_HASH_KEY=secrets.token_urlsafe(32),
        MINQING_VAR_DIR=str(var_dir),
    )
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def shell_json(env: dict, code: str):
    out = manage(env, "shell", "-c", "import json\n" + code)
    line = [x for x in out.splitlines() if x.startswith("JSON:")][-1]
    return json.loads(line[5:])


def prepare(kind: str, tmp: Path) -> dict:
    if kind == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    else:
        url = f"sqlite:///{tmp / 'intake.sqlite3'}"
    env = production_env(url, tmp)
    t0 = time.perf_counter()
    manage(env, "migrate", "-v0")
    manage(env, "demo_data")
    print(f"  {kind}: fresh database with the demo data in {time.perf_counter() - t0:.0f} s", flush=True)
    return env


class Server:
    def __init__(self, env: dict, args, tmp: Path):
        self.log = open(tmp / "gunicorn.log", "w")
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "minqing.wsgi",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.port = args.port
        deadline = time.monotonic() + 180
        while True:
            try:
                status, _body = request(self.connect(), "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit((tmp / "gunicorn.log").read_text())
            time.sleep(0.5)

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (from /proc): what the server spent,
        whatever else the shared machine was doing."""
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            children = []
        pids += [int(c) for c in children]
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return total

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


# As behind the TLS proxy of deploy.md: otherwise the production settings redirect to HTTPS.
HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Content-Type": "application/json"}


def request(conn, method: str, path: str, body=None, token: str | None = None) -> tuple[int, bytes]:
    headers = dict(HEADERS)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def sign_in(server: Server, username: str) -> str:
    status, body = request(server.connect(), "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    if status != 200:
        sys.exit(f"sign-in of {username} failed: {status} {body[:300]!r}")
    return json.loads(body)["token"]


def one_run(server: Server, tokens: list[str], category: int, args) -> dict:
    marker = f"压测{uuid.uuid4().hex[:10]}"
    yesterday = (datetime.now().astimezone() - timedelta(days=1)).isoformat(timespec="seconds")
    stop_at = [0.0]
    start_gate = threading.Barrier(args.clients + 1)
    results: list[list] = [[] for _ in range(args.clients)]  # (status, number or error, latency)

    def client(i: int):
        conn = server.connect()
        token = tokens[i % len(tokens)]
        n = 0
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            body = {"category": category, "channel": "hotline_12345", "description": f"{marker}-{i}-{n}"}
            if n % 2:
                body["received_at"] = yesterday
            t = time.perf_counter()
            try:
                status, raw = request(conn, "POST", "/api/v1/tickets", body, token)
            except OSError as exc:
                results[i].append((0, repr(exc), time.perf_counter() - t))
                conn = server.connect()
                continue
            latency = time.perf_counter() - t
            number = json.loads(raw).get("number") if status == 201 else raw[:200].decode(errors="replace")
            results[i].append((status, number, latency))
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    begin = time.perf_counter()
    stop_at[0] = begin + args.seconds
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begin
    server_cpu, client_cpu = server.cpu_seconds() - server_cpu, time.process_time() - client_cpu
    flat = [r for rs in results for r in rs]
    created = [r[1] for r in flat if r[0] == 201]
    others = [r for r in flat if r[0] != 201]
    latencies = sorted(r[2] for r in flat)
    return {
        "marker": marker,
        "created": created,
        "others": others,
        "rate": len(created) / elapsed,
        # CPU per intake (server, and the bench's own client threads): the load-independent figure.
        "server_cpu_ms": 1000 * server_cpu / max(len(flat), 1),
        "client_cpu_ms": 1000 * client_cpu / max(len(flat), 1),
        "elapsed": elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0,
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else 0,
    }


CHECK = """
from minqing.tickets.models import Ticket, TicketEvent
mine = Ticket.objects.filter(description__startswith=MARKER)
numbers = list(mine.values_list("number", flat=True))
print("JSON:" + json.dumps({
    "numbers": numbers,
    "registered_events": TicketEvent.objects.filter(ticket__in=mine, action="register").count(),
}))
"""


def verify(env: dict, run: dict) -> str:
    stored = shell_json(env, f"MARKER = {run['marker']!r}\n" + CHECK)
    answered = run["created"]
    problems = []
    if len(set(answered)) != len(answered):
        problems.append(f"{len(answered) - len(set(answered))} numbers answered twice")
    if sorted(stored["numbers"]) != sorted(answered):
        lost = set(answered) - set(stored["numbers"])
        extra = set(stored["numbers"]) - set(answered)
        problems.append(f"{len(lost)} answered but not stored, {len(extra)} stored but not answered")
    if stored["registered_events"] != len(stored["numbers"]):
        problems.append("a demand without its register event")
    return "; ".join(problems) or "ok"


def bench(kind: str, args) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix=f"intake-{kind}-"))
    env = prepare(kind, tmp)
    category = shell_json(
        env,
        "from minqing.tickets.models import Category\n"
        "print('JSON:' + json.dumps(Category.objects.get(name='垃圾清运').pk))",
    )
    server = Server(env, args, tmp)
    runs = []
    try:
        tokens = [sign_in(server, "staff1"), sign_in(server, "grid1")]
        # Every worker imports and connects on its first requests: warm them up outside the measure.
        warm = one_run(server, tokens, category, argparse.Namespace(**{**vars(args), "seconds": 5.0}))
        print(f"  {kind} warm-up: {len(warm['created'])} created, {verify(env, warm)}", flush=True)
        for n in range(args.runs):
            run = one_run(server, tokens, category, args)
            run["check"] = verify(env, run)
            kinds = {}
            for status, detail, _latency in run["others"]:
                kinds[(status, detail[:80])] = kinds.get((status, detail[:80]), 0) + 1
            print(
                f"  {kind} run {n + 1}: {len(run['created'])} created in {run['elapsed']:.1f} s = "
                f"{run['rate']:.1f}/s, p50 {run['p50_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms, "
                f"server CPU {run['server_cpu_ms']:.1f} ms and client CPU {run['client_cpu_ms']:.1f} ms per intake, "
                f"other answers {len(run['others'])} {dict(list(kinds.items())[:3]) if kinds else ''}, "
                f"numbers: {run['check']}",
                flush=True,
            )
            runs.append(run)
    finally:
        server.stop()
        if kind == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
    return runs


PROFILE = """
import cProfile, pstats, json
from django.test import Client
from minqing.accounts.auth import api_token_issue
from minqing.tickets.models import Category
token = api_token_issue(username="staff1", password="Minqing@2025")
headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"}
body = json.dumps({"category": Category.objects.get(name="垃圾清运").pk, "channel": "desk", "description": "剖析"})
client = Client()
for _ in range(20):
    assert client.post("/api/v1/tickets", body, content_type="application/json", **headers).status_code == 201
profile = cProfile.Profile()
profile.enable()
for _ in range(200):
    client.post("/api/v1/tickets", body, content_type="application/json", **headers)
profile.disable()
stats = pstats.Stats(profile).sort_stats("cumulative")
stats.print_stats(30)
stats.print_callees("ticket_create|api_token_user|tickets_create")
"""


def profile(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="intake-profile-"))
    env = prepare("sqlite", tmp)
    print(manage(env, "shell", "-c", PROFILE))
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    args = _parse_args()
    if args.profile:
        profile(args)
        return
    print(
        f"POST /api/v1/tickets: {args.clients} clients, {args.seconds:.0f} s per run, {args.runs} runs, "
        f"gunicorn {args.workers} workers × {args.threads} threads, DJANGO_DEBUG=false",
        flush=True,
    )
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    summary = []
    for kind in kinds:
        runs = bench(kind, args)
        rates = [r["rate"] for r in runs]
        summary.append(
            (kind, statistics.median(rates), min(rates), max(rates), all(r["check"] == "ok" for r in runs), runs)
        )
    print(
        "\n| database | median req/s | min | max | p50 ms | p95 ms | server CPU ms/intake | non-201 "
        "| numbers unique and all stored |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind, median, low, high, ok, runs in summary:
        p50 = statistics.median(r["p50_ms"] for r in runs)
        p95 = statistics.median(r["p95_ms"] for r in runs)
        others = sum(len(r["others"]) for r in runs)
        cpu = statistics.median(r["server_cpu_ms"] for r in runs)
        print(
            f"| {kind} | {median:.1f} | {low:.1f} | {high:.1f} | {p50:.0f} | {p95:.0f} | {cpu:.1f} | {others} | "
            f"{'yes' if ok else 'NO'} |"
        )


if __name__ == "__main__":
    main()
