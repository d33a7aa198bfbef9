#!/usr/bin/env bash
# Create/refresh the virtualenvs from the pinned requirements files.
#   scripts/venv.sh dev     .venv       (python3 >= 3.11; requirements-dev.txt + ./emulator)
#   scripts/venv.sh 2.21    .venv-2.21  (Python 3.13;     requirements-2.21.txt)
#   scripts/venv.sh floor   .venv-floor (python3 >= 3.11; requirements-floor.txt: ansible-core 2.17,
#                           the oldest requests/urllib3 the collection supports)
#   scripts/venv.sh relock  re-resolve the top-level requirements (requirements-dev.in)
#                           in a scratch venv and rewrite requirements-dev.txt
# The Makefile calls these through stamp files, so an up-to-date venv is not
# touched again. A venv is rebuilt from scratch when its stamp is missing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIP_VERSION=26.3
PYTHON="${PYTHON:-python3}"

mk_venv() {  # python venvdir
  rm -rf "$2"
  "$1" -m venv "$2"
  quietly "$2/bin/python" -m pip install "pip==$PIP_VERSION"
}

case "${1:-dev}" in
  dev)
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "$PYTHON is $("$PYTHON" -V 2>&1); Python >= 3.11 is required (set PYTHON=...)"
    header "venv: $VENV ($("$PYTHON" -V 2>&1))"
    mk_venv "$PYTHON" "$VENV"
    note "pip install -r requirements-dev.txt"
    quietly "$VENV/bin/pip" install -r "$ROOT/requirements-dev.txt"
    if [ -f "$ROOT/emulator/pyproject.toml" ] || [ -f "$ROOT/emulator/setup.py" ]; then
      note "installing the emulator (editable): ./emulator"
      quietly "$VENV/bin/pip" install -c "$ROOT/requirements-dev.txt" -e "$ROOT/emulator"
    else
      note "emulator/pyproject.toml not found yet: emulator not installed"
    fi
    quietly "$VENV/bin/pip" check
    install_get_pip
    touch "$VENV/.stamp"
    ;;
  2.21)
    py313="$(find_python313)"
    if [ -z "$py313" ]; then
      note "no Python 3.13 found (pyenv 3.13.x, /usr/bin/python3.13, PYTHON313=...): .venv-2.21 not created"
      exit 0
    fi
    header "venv: $VENV221 ($("$py313" -V 2>&1), $py313)"
    mk_venv "$py313" "$VENV221"
    note "pip install -r requirements-2.21.txt"
    quietly "$VENV221/bin/pip" install -r "$ROOT/requirements-2.21.txt"
    install_get_pip
    touch "$VENV221/.stamp"
    ;;
  floor)
    header "venv: $VENVFLOOR ($("$PYTHON" -V 2>&1))"
    mk_venv "$PYTHON" "$VENVFLOOR"
    note "pip install -r requirements-floor.txt"
    quietly "$VENVFLOOR/bin/pip" install -r "$ROOT/requirements-floor.txt"
    quietly "$VENVFLOOR/bin/pip" check
    touch "$VENVFLOOR/.stamp"
    ;;
  relock)
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    "$PYTHON" -m venv "$tmp/v"
    "$tmp/v/bin/python" -m pip install -q "pip==$PIP_VERSION" 2>&1 | pip_filter
    "$tmp/v/bin/pip" install -q -r "$ROOT/requirements-dev.in" 2>&1 | pip_filter
    {
      sed -n '/^#/p' "$ROOT/requirements-dev.txt" | head -n 20
      "$tmp/v/bin/pip" freeze | grep -v -E '^(pip|setuptools|wheel)=='
    } > "$ROOT/requirements-dev.txt.new"
    mv "$ROOT/requirements-dev.txt.new" "$ROOT/requirements-dev.txt"
    note "rewrote requirements-dev.txt"
    ;;
  *) die "usage: $0 dev|2.21|floor|relock" ;;
esac
