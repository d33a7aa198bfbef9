#!/usr/bin/env bash
# One ansible-test sanity leg in a collection copy (see scripts/test.sh):
#   scripts/sanity.sh 2.19 DIR    ansible-core 2.19 (.venv),      --python 3.11
#   scripts/sanity.sh 2.21 DIR    ansible-core 2.21 (.venv-2.21), --python 3.13
# DIR is .../ansible_collections/sigma/media_server. Extra ansible-test options
# come from $SANITY_ARGS. --venv: each sanity test gets the pinned requirements
# of that ansible-test version in its own cached venv (~/.ansible/test/venv).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

leg="${1:?usage: $0 2.19|2.21 DIR}"
cd "${2:?usage: $0 2.19|2.21 DIR}"
case "$leg" in
  2.19) bin="$VENV/bin"; py=3.11 ;;
  2.21) bin="$VENV221/bin"; py=3.13 ;;
  *) die "unknown sanity leg $leg" ;;
esac
[ -x "$bin/ansible-test" ] || die "no $bin/ansible-test: run make venv"
# PATH: python$py must resolve to a working interpreter (not a pyenv shim);
# .venv/bin (shellcheck) stays on it too.
export PATH="$bin:$VENV/bin:$PATH"
# shellcheck disable=SC2086
"$bin/ansible-test" sanity --venv --python "$py" --color no ${SANITY_ARGS:-} 2>&1 | pip_filter
