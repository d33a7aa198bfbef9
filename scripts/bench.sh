#!/usr/bin/env bash
# `make bench` / `make bench-quick`: run bench/run.py (arguments are passed on,
# bench-quick passes --quick) with the dev venv, if the benchmark exists yet.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ ! -f "$ROOT/bench/run.py" ]; then
  note "bench/run.py does not exist yet: nothing to run"
  exit 0
fi
cd "$ROOT"
export PATH="$VENV/bin:$PATH" ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
exec "$VENV/bin/python" bench/run.py "$@"
