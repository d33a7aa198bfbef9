#!/usr/bin/env bash
# Create/refresh the virtualenvs from the pinned requirements files.
#   scripts/venv.sh dev     .venv       (python3 >= 3.11; requirements-dev.txt + ./emulator)
#   scripts/venv.sh 2.21    .venv-2.21  (Python 3.13;     requirements-2.21.txt)
#   scripts/venv.sh floor   .venv-floor (python3 >= 3.11; requirements-floor.txt: ansible-core 2.17,
#                           the oldest requests/urllib3 the collection supports)
#   scripts/venv.sh nox     .venv-nox   (python3;         requirements-nox.txt: the CI runner)
#   scripts/venv.sh awx-ee  .venv-awx-ee (python3;       requirements-awx-ee.txt: ansible-core 2.18 as
#                           AWX's execution environment runs it, for tests/awx)
#   scripts/venv.sh eda     .venv-eda   (python3;         tests/eda/requirements.txt: ansible-rulebook for
#                           the event source's end-to-end test)
#   scripts/venv.sh relock  re-resolve the top-level requirements (requirements-dev.in)
#                           in a scratch venv and rewrite requirements-dev.txt
#   scripts/venv.sh relock-nox   the same for requirements-nox.txt (nox, antsibull-nox)
# The Makefile calls these through stamp files, so an up-to-date venv is not
# touched again.
#
# Venvs are built once per machine: each lives in a cache folder named by a hash
# of what it is made of (the interpreter, pip, the requirements file and, for
# .venv, the emulator's sources: the emulator is installed, not editable), and
# .venv, .venv-2.21 and .venv-nox are links to it. A fresh clone (CI) finds them
# built. SIGMA_VENV_CACHE=DIR moves the cache (default ~/.cache/sigma-media-server/
# venvs); SIGMA_VENV_CACHE=0 builds the venvs in the checkout as before. Builds of
# the same venv by two runs at once take turns (flock); the 4 newest venvs of each
# kind are kept.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIP_VERSION=26.3
PYTHON="${PYTHON:-python3}"

CACHE="${SIGMA_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sigma-media-server/venvs}"

mk_venv() {  # python venvdir
  rm -rf "$2"
  "$1" -m venv "$2"
  quietly "$2/bin/python" -m pip install "pip==$PIP_VERSION"
}

# cached_venv KIND PYTHON LINK INSTALL_FUNCTION HASH_INPUT...: make LINK a venv built by
# INSTALL_FUNCTION (called with the venv's folder), reusing the cached one with the same hash.
cached_venv() {
  local kind="$1" py="$2" link="$3" install="$4" key dir
  shift 4
  if [ "$CACHE" = 0 ]; then
    [ ! -L "$link" ] || rm -f "$link"
    mk_venv "$py" "$link"
    "$install" "$link"
    touch "$link/.stamp"
    return
  fi
  key="$( { "$py" -VV; echo "pip $PIP_VERSION"; cat "$@"; } | sha256sum | cut -c1-16)"
  dir="$CACHE/$kind-$key"
  mkdir -p "$CACHE"
  (
    flock 9
    if [ -f "$dir/.complete" ]; then
      note "cached: $dir"
    else
      mk_venv "$py" "$dir"
      "$install" "$dir"
      touch "$dir/.complete"
    fi
    touch "$dir/.stamp"
  ) 9>"$CACHE/$kind-$key.lock"
  rm -rf "$link"
  ln -s "$dir" "$link"
  # keep the 4 newest venvs of this kind
  find "$CACHE" -maxdepth 1 -name "$kind-*" -type d -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- \
    | while read -r old; do rm -rf "$old" "$old.lock"; done
}

install_dev() {
  note "pip install -r requirements-dev.txt"
  quietly "$1/bin/pip" install -r "$ROOT/requirements-dev.txt"
  note "installing the emulator: ./emulator"
  quietly "$1/bin/pip" install --no-deps "$ROOT/emulator"
  quietly "$1/bin/pip" check
}

install_221() {
  note "pip install -r requirements-2.21.txt"
  quietly "$1/bin/pip" install -r "$ROOT/requirements-2.21.txt"
}

install_floor() {
  note "pip install -r requirements-floor.txt"
  quietly "$1/bin/pip" install -r "$ROOT/requirements-floor.txt"
  quietly "$1/bin/pip" check
}

install_eda() {
  note "pip install -r tests/eda/requirements.txt"
  quietly "$1/bin/pip" install -r "$ROOT/tests/eda/requirements.txt"
  quietly "$1/bin/pip" check
}

install_awx_ee() {
  note "pip install -r requirements-awx-ee.txt"
  quietly "$1/bin/pip" install -r "$ROOT/requirements-awx-ee.txt"
  quietly "$1/bin/pip" check
}

install_nox() {
  note "pip install -r requirements-nox.txt"
  quietly "$1/bin/pip" install -r "$ROOT/requirements-nox.txt"
}

case "${1:-dev}" in
  dev)
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "$PYTHON is $("$PYTHON" -V 2>&1); Python >= 3.11 is required (set PYTHON=...)"
    header "venv: $VENV ($("$PYTHON" -V 2>&1))"
    # shellcheck disable=SC2046  # one argument per emulator source file
    cached_venv dev "$PYTHON" "$VENV" install_dev "$ROOT/requirements-dev.txt" \
      $(find "$ROOT/emulator/pyproject.toml" "$ROOT/emulator/sigma_emulator" -name '*.py' -o -name '*.toml' | sort)
    install_get_pip
    ;;
  2.21)
    py313="$(find_python313)"
    if [ -z "$py313" ]; then
      note "no Python 3.13 found (pyenv 3.13.x, /usr/bin/python3.13, PYTHON313=...): .venv-2.21 not created"
      exit 0
    fi
    header "venv: $VENV221 ($("$py313" -V 2>&1), $py313)"
    cached_venv 2.21 "$py313" "$VENV221" install_221 "$ROOT/requirements-2.21.txt"
    install_get_pip
    ;;
  floor)
    header "venv: $VENVFLOOR ($("$PYTHON" -V 2>&1))"
    cached_venv floor "$PYTHON" "$VENVFLOOR" install_floor "$ROOT/requirements-floor.txt"
    ;;
  nox)
    VENVNOX="${VENVNOX:-$ROOT/.venv-nox}"
    header "venv: $VENVNOX ($("$PYTHON" -V 2>&1))"
    cached_venv nox "$PYTHON" "$VENVNOX" install_nox "$ROOT/requirements-nox.txt"
    ;;
  eda)
    header "venv: $VENVEDA ($("$PYTHON" -V 2>&1))"
    cached_venv eda "$PYTHON" "$VENVEDA" install_eda "$ROOT/tests/eda/requirements.txt"
    ;;
  awx-ee)
    header "venv: $VENVAWXEE ($("$PYTHON" -V 2>&1))"
    cached_venv awx-ee "$PYTHON" "$VENVAWXEE" install_awx_ee "$ROOT/requirements-awx-ee.txt"
    ;;
  relock-nox)
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    "$PYTHON" -m venv "$tmp/v"
    "$tmp/v/bin/python" -m pip install -q "pip==$PIP_VERSION" 2>&1 | pip_filter
    "$tmp/v/bin/pip" install -q nox antsibull-nox 2>&1 | pip_filter
    { sed -n '/^#/p' "$ROOT/requirements-nox.txt"; "$tmp/v/bin/pip" freeze | grep -v -E '^(pip|setuptools|wheel)=='; } \
      > "$ROOT/requirements-nox.txt.new"
    mv "$ROOT/requirements-nox.txt.new" "$ROOT/requirements-nox.txt"
    note "rewrote requirements-nox.txt"
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
  *) die "usage: $0 dev|2.21|floor|nox|eda|awx-ee|relock|relock-nox" ;;
esac
