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

HOST="${MINQING_DEMO_HOST:-127.0.0.1}"
PORT="${MINQING_DEMO_PORT:-8000}"

server_pid=""
worker_pid=""
stop_all() {
    trap - EXIT INT TERM
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

say "serving"
# Background work (Django tasks) runs in the database-backed worker.
"$PY" manage.py db_worker --queue-name '*' --no-reload &
worker_pid=$!
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
