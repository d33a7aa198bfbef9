# shellcheck shell=bash
# Shared helpers for the build/test scripts. Source it; do not run it.
#   ROOT        repo root (the collection root: namespace sigma, name media_server)
#   VENV        dev virtualenv (.venv, Python 3.11, ansible-core 2.19)
#   VENV221     second sanity leg (.venv-2.21, Python 3.13, ansible-core 2.21)
#   VENVFLOOR   the floor of everything (.venv-floor, Python 3.11, ansible-core 2.17, the
#               oldest requests/urllib3 of requirements.txt; requirements-floor.txt): any
#               step can run its tests there too
#   VENVEDA     ansible-rulebook for the event source's end-to-end test (.venv-eda, Python 3.11)
#   VENVAWXEE   what AWX's execution environment runs (.venv-awx-ee, Python 3.11, ansible-core 2.18)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
VENV221="${VENV221:-$ROOT/.venv-2.21}"
VENVFLOOR="${VENVFLOOR:-$ROOT/.venv-floor}"
VENVEDA="${VENVEDA:-$ROOT/.venv-eda}"
VENVAWXEE="${VENVAWXEE:-$ROOT/.venv-awx-ee}"
COLLECTION_NAMESPACE=sigma
COLLECTION_NAME=media_server

# Quieter, non-interactive pip everywhere.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# ansible-test prefers en_US.UTF-8 but works with C.UTF-8; keep output stable.
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1

header() {
  printf '\n==============================================================================\n'
  printf '== %s\n' "$*"
  printf '==============================================================================\n'
}

note() { printf '%s\n' "-- $*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Drop pip's noise about the machine's optional local indexes.
pip_filter() { grep -v -E "^WARNING: Location '.*' is ignored" || true; }

# Run a command with its output in a log file; print the log if it fails.
quietly() {
  local log rc=0
  log="$(mktemp "${TMPDIR:-/tmp}/sigma-cmd.XXXXXX")"
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    pip_filter <"$log" | tail -n 60 >&2
    printf 'ERROR: command failed (exit %d): %s\n' "$rc" "$*" >&2
  fi
  rm -f "$log"
  return "$rc"
}

# Print the path of a working Python 3.13 interpreter, or nothing.
# pyenv's python3.13 shim may be broken when 3.13 is not the active version,
# so ask pyenv for the real prefix first, then try common locations.
find_python313() {
  local cand prefix
  if [ -n "${PYTHON313:-}" ]; then
    "$PYTHON313" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$PYTHON313"; return 0; }
  fi
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
      prefix="$(pyenv prefix "$v" 2>/dev/null || true)"
      [ -x "$prefix/bin/python3.13" ] && { echo "$prefix/bin/python3.13"; return 0; }
    done
  fi
  for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
              /usr/local/bin/python3.13 /usr/bin/python3.13 /opt/python3.13/bin/python3.13 \
              "$(command -v python3.13 2>/dev/null || true)"; do
    [ -n "$cand" ] && [ -x "$cand" ] || continue
    if "$cand" -c 'import sys, venv; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
      echo "$cand"; return 0
    fi
  done
  return 0
}

# Copy the checkout to $1/ansible_collections/sigma/media_server (ansible-test
# refuses symlinks) and print that path. Excludes venvs, git data, outputs, and
# emulator/ and bench/: they are not part of the collection (galaxy.yml
# build_ignore), the emulator has its own pytest step, and without .git
# ansible-test would otherwise run its sanity tests over them.
make_collection_copy() {
  local base="$1" dest
  dest="$base/ansible_collections/$COLLECTION_NAMESPACE/$COLLECTION_NAME"
  mkdir -p "$dest"
  (cd "$ROOT" && tar -cf - \
      --exclude='./.venv*' --exclude=./.git --exclude=./tests/output \
      --exclude=./.ansible --exclude=./build --exclude='./*.tar.gz' \
      --exclude=./emulator --exclude=./bench --exclude=./importer_result.json \
      --exclude=./.nox --exclude=./noxfile.py --exclude=./antsibull-nox.toml \
      --exclude='__pycache__' --exclude='.pytest_cache' --exclude='.ruff_cache' \
      --exclude='.mypy_cache' --exclude='*.egg-info' .) \
    | tar -xf - -C "$dest"
  echo "$dest"
}

# ansible-test looks for its pip bootstrap script in ~/.ansible/test/cache and
# otherwise downloads it from a host that air-gapped machines cannot reach.
install_get_pip() {
  bash "$ROOT/scripts/install-get-pip.sh" "$VENV/bin/python" "$VENV221/bin/python" >/dev/null
}
