# shellcheck shell=bash
# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run): system packages,
# the Python environment from uv.lock, the front-end packages from package-lock.json and the
# compiled zh-Hans catalogue. Safe to run again: each step does nothing when already done.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\n==> %s\n' "$*"; }

# --- system packages ------------------------------------------------------------------------------
# chromium drives the browser tests, fonts-noto-cjk renders Chinese (screenshots, PDFs), gettext
# compiles the catalogue, libharfbuzz-subset0 keeps PDF font subsetting fast, poppler-utils turns
# PDFs into pictures in tests.
SYSTEM_PACKAGES=(chromium fonts-noto-cjk gettext libharfbuzz-subset0 poppler-utils)

install_system_packages() {
    local missing=() pkg
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "system packages present: ${SYSTEM_PACKAGES[*]}"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "WARNING: missing system packages (install them as root): ${missing[*]}" >&2
        return 0
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- Python -----------------------------------------------------------------------------------------
# The interpreter is the machine's pyenv 3.13 (.python-version); uv must never download one.
find_python() {
    local root="${PYENV_ROOT:-$HOME/.pyenv}" candidate
    for candidate in $(ls -d "$root"/versions/3.13* 2>/dev/null | sort -rV); do
        if [ -x "$candidate/bin/python3.13" ]; then
            echo "$candidate/bin/python3.13"
            return 0
        fi
    done
    command -v python3.13 || {
        echo "ERROR: Python 3.13 not found (expected under $root/versions/3.13*)" >&2
        return 1
    }
}

install_python_env() {
    PYTHON="$(find_python)"
    local bindir
    bindir="$(dirname "$PYTHON")"
    if [ -x "$bindir/uv" ]; then
        UV="$bindir/uv"
    elif command -v uv >/dev/null 2>&1; then
        UV="$(command -v uv)"
    else
        say "pip install uv (into $PYTHON)"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
        UV="$bindir/uv"
    fi
    say "uv sync --locked ($PYTHON)"
    UV_PYTHON_DOWNLOADS=never "$UV" sync --locked --python "$PYTHON"
    export PATH="$ROOT/.venv/bin:$PATH"
}

# --- front end ---------------------------------------------------------------------------------------
install_node_packages() {
    say "npm ci"
    # --prefer-offline: the npm cache answers when it can, so a second run needs no network.
    npm ci --prefer-offline --no-audit --no-fund
}

# --- translations -----------------------------------------------------------------------------------
compile_messages() {
    if ! find minqing -path '*/locale/*' -name '*.po' -print -quit | grep -q .; then
        echo "no .po catalogue yet; nothing to compile"
        return 0
    fi
    say "compilemessages"
    # Only the project's own catalogues: the walk would otherwise descend into .venv and node_modules.
    (cd minqing && "$ROOT/.venv/bin/python" "$ROOT/manage.py" compilemessages --ignore 'static' -v 1)
}

install_all() {
    install_system_packages
    install_python_env
    install_node_packages
    compile_messages
}
