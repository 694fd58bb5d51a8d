#!/usr/bin/env bash
# The README's second command: the same set-up as the demo, then lint, then the whole test suite
# (browser tests included) on SQLite and again on PostgreSQL when 127.0.0.1:5432 answers.
# Starts no service; exits non-zero when any leg fails. Extra arguments go to pytest.

set -euo pipefail
# shellcheck source=scripts/_install.sh
source "$(dirname "${BASH_SOURCE[0]}")/_install.sh"

install_all

PY="$ROOT/.venv/bin/python"
PG_URL="${MINQING_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT

summary=()
failed=0

# run_leg NAME COMMAND... — runs a leg, keeps going on failure, remembers a one-line summary.
run_leg() {
    local name="$1" log="$LOG_DIR/$1.log" start rc detail
    shift
    say "$name"
    start=$SECONDS
    set +e
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    # pytest's last line ("193 passed, 1 skipped in 277.72s"), or nothing for the linters.
    detail="$(grep -E '^=*.*([0-9]+ (passed|failed|error|errors|skipped|deselected)|no tests ran)' "$log" | tail -1 | tr -d '=' | sed 's/^ *//; s/ *$//' || true)"
    if [ "$rc" -eq 0 ]; then
        summary+=("$(printf '%-12s ok      %4ds  %s' "$name" $((SECONDS - start)) "$detail")")
    else
        summary+=("$(printf '%-12s FAILED  %4ds  exit %s  %s' "$name" $((SECONDS - start)) "$rc" "$detail")")
        failed=1
    fi
}

run_leg "ruff-check" "$ROOT/.venv/bin/ruff" check .
run_leg "ruff-format" "$ROOT/.venv/bin/ruff" format --check .
run_leg "sqlite" env -u DATABASE_URL "$ROOT/.venv/bin/pytest" -q "$@"

# PostgreSQL answers? Asked through psycopg (already installed), so no client tools are needed.
if "$PY" - "$PG_URL" <<'PYCODE' >/dev/null 2>&1
import sys

import psycopg

psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYCODE
then
    run_leg "postgresql" env DATABASE_URL="$PG_URL" "$ROOT/.venv/bin/pytest" -q "$@"
else
    echo
    echo "PostgreSQL leg skipped: not reachable at 127.0.0.1:5432"
    summary+=("$(printf '%-12s skipped        not reachable at 127.0.0.1:5432' postgresql)")
fi

say "summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
