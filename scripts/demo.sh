#!/usr/bin/env bash
# The README's first command: install everything from the lock files, create the SQLite database
# (WAL), load the demo data and serve minqing on http://127.0.0.1:8000 with a task worker beside it.
# Stop with Ctrl-C (or SIGTERM): the server and the worker stop together. Running it again is safe.

set -euo pipefail
# shellcheck source=scripts/_install.sh
source "$(dirname "${BASH_SOURCE[0]}")/_install.sh"

install_all

PY="$ROOT/.venv/bin/python"
say "migrate"
"$PY" manage.py migrate --no-input -v 1
say "demo data"
"$PY" manage.py demo_data
say "deadline sweep"
"$PY" manage.py tickets_sweep
"$PY" manage.py visits_sweep

HOST="${MINQING_DEMO_HOST:-127.0.0.1}"
PORT="${MINQING_DEMO_PORT:-8000}"

server_pid=""
worker_pid=""
sweep_pid=""
# Stop the server and the worker together. The worker finishes the task it is running on the first
# signal and is cut short by a second one, so it gets exactly one: Ctrl-C in a terminal already sent
# it SIGINT (the whole foreground group receives it); otherwise it gets SIGTERM here.
stop_all() {
    local why="$1"
    trap - EXIT INT TERM
    set +e
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    [ -n "$sweep_pid" ] && kill -TERM "$sweep_pid" 2>/dev/null
    if [ -n "$worker_pid" ]; then
        if [ "$why" = INT ]; then
            for _ in $(seq 1 150); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.2; done
        fi
        kill -TERM "$worker_pid" 2>/dev/null
    fi
    wait 2>/dev/null
    [ "$why" = EXIT ] || exit 130
}
trap 'stop_all EXIT' EXIT
trap 'stop_all INT' INT
trap 'stop_all TERM' TERM

say "serving"
# Background work (Django tasks) runs in the database-backed worker.
"$PY" manage.py db_worker --queue-name '*' --no-reload &
worker_pid=$!
# The deployment's scheduler, in small: the 临期 / 超期 sweep and the care plan's due dates every five
# minutes, and the ledger uploads past their retention.
(while sleep 300; do
    "$PY" manage.py tickets_sweep >/dev/null
    "$PY" manage.py visits_sweep >/dev/null
    "$PY" manage.py ledger_expire >/dev/null
done) &
sweep_pid=$!
# DEBUG stays on for the demo (the default): WhiteNoise serves static files straight from the finders.
"$ROOT/.venv/bin/gunicorn" minqing.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 --timeout 60 \
    --access-logfile - &
server_pid=$!

cat <<MSG

  minqing 民情 demo: http://$HOST:$PORT/
  Demo accounts: grid1 liaison1 staff1 admin1 street1 dept1 district1 — password Minqing@2025 (demo only).
  API docs: http://$HOST:$PORT/api/v1/docs      Stop: Ctrl-C

MSG

# When either process ends (the server on Ctrl-C, or a port already taken), stop the other one.
set +e
wait -n "$server_pid" "$worker_pid"
status=$?
exit "$status"
