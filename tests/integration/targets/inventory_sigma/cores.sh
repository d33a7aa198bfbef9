#!/usr/bin/env bash
# cores.sh VENV_OR_PATH...: the inventory AWX imports, on every ansible-core given.
#
# For each argument that exists (a virtualenv directory with bin/ansible-inventory, or the word PATH for
# the ansible-* commands and python3 on PATH), against two local stand-in servers (check.py serve: an
# ordinary dump, and a crafted one whose name, hostname, version, licence status, OS and GPU name are
# templates that would run a pipe lookup):
#   1. ansible-inventory --list and --list --export of the ordinary server: no value written as
#      {"__ansible_unsafe": ...} (AWX stores that as a dictionary);
#   2. the crafted server: exactly its templates are written marked;
#   3. a play on the crafted host (debug of the variables, a template, compose) renders none of them;
#   4. the same play on the --export output read back as AWX hands it to a job (an inventory script):
#      still none is rendered.
# Arguments that do not exist are listed as not run; at least one must run. Needs no emulator and no
# fixed port. Examples:
#   tests/integration/targets/inventory_sigma/cores.sh .venv .venv-2.21 .venv-floor
#   cores.sh PATH        (runme.sh: the ansible-core running the integration test)
set -eu -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../../.." && pwd)"   # the collection (run from a checkout)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/inventory_cores.XXXXXX")"
SERVE_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED ($LEG): $*" >&2; exit 1; }

[ $# -gt 0 ] || { echo "usage: $0 VENV_OR_PATH..." >&2; exit 2; }

# the collection, wherever it is checked out, as ansible_collections/sigma/media_server (not in a
# collections/ directory beside the playbook: ansible-playbook would prefer it to ANSIBLE_COLLECTIONS_PATH)
mkdir -p "$WORK/tree/ansible_collections/sigma"
ln -s "$ROOT" "$WORK/tree/ansible_collections/sigma/media_server"

python3 "$HERE/check.py" serve "$WORK" </dev/null >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/ports.json" ] && break; sleep 0.05; done
[ -s "$WORK/ports.json" ] || { cat "$WORK/serve.log" >&2; LEG=setup fail "the stand-in servers did not start"; }
read -r ORDINARY CRAFTED < <(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print(p["ordinary"], p["crafted"])' "$WORK/ports.json")

printf 'license_key: CORESECRET-LICENCE-0001\nlicense_key: CORESECRET-LICENCE-0002\n' >"$WORK/keys.yml"
cat >"$WORK/ordinary.sigma.yml" <<EOF
plugin: sigma.media_server.sigma
servers:
  - url: http://127.0.0.1:$ORDINARY
    vars: {site: hanoi, racks: [r1, r2]}
  - url: http://127.0.0.1:1          # nothing listens there: sigma_error
    name: down
include_dump: true
timeout: 5
retries: 0
compose:
  first_model: sigma_gpu_models | first
  label: "'edge-' ~ inventory_hostname"
EOF
cat >"$WORK/crafted.sigma.yml" <<EOF
plugin: sigma.media_server.sigma
servers:
  - url: http://127.0.0.1:$CRAFTED
    name: crafted
include_dump: true
timeout: 5
retries: 0
compose:
  seen_name: sigma_dump.name
EOF
cat >"$WORK/use.yml" <<'EOF'
- hosts: crafted
  gather_facts: false
  connection: local
  tasks:
    - ansible.builtin.debug:
        var: sigma_version
    - ansible.builtin.debug:
        msg: "{{ sigma_version }} {{ sigma_license_status }} {{ sigma_gpu_models }} {{ sigma_dump.hostname }} {{ seen_name }}"
    - ansible.builtin.template:
        src: "{{ playbook_dir }}/use.j2"
        dest: "{{ out }}"
        mode: '0600'
EOF
cat >"$WORK/use.j2" <<'EOF'
version={{ sigma_version }}
status={{ sigma_license_status }}
model={{ sigma_gpu_models[0] }} / {{ sigma_gpus[0].model }}
name={{ sigma_dump.name }} / {{ seen_name }}
hostname={{ sigma_dump.hostname }}
os={{ sigma_dump.system.os }}
EOF

ORIGINAL_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-}"
ran=()
skipped=()
for arg in "$@"; do
  LEG="$arg"
  if [ "$arg" = PATH ]; then
    bin="$(dirname "$(command -v ansible-inventory)")"
    py="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
  elif [ -x "$arg/bin/ansible-inventory" ]; then
    bin="$(cd "$arg/bin" && pwd)"
    py="$bin/python"
  else
    skipped+=("$arg")
    continue
  fi
  version="$("$bin/ansible-inventory" --version | sed -n 1p)"
  LEG="$arg ($version)"
  echo "== $LEG"
  "$py" -c 'import requests' 2>/dev/null || fail "the Python library requests is missing from $py (the collection requires it)"
  rm -f "$WORK/rendered.sentinel"
  collections="$WORK/tree"
  # under ansible-test (PATH), the collection is where ansible-test put it; a target runs from a copy
  [ "$arg" != PATH ] || collections="${ORIGINAL_COLLECTIONS_PATH:-$collections}"
  export ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_PYTHON_INTERPRETER="$py" ANSIBLE_NOCOLOR=1 \
         ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_HOME="$WORK/home"
  unset ANSIBLE_INVENTORY_CACHE || true

  for mode in --export ""; do
    # shellcheck disable=SC2086  # an empty mode is no argument
    "$bin/ansible-inventory" -i "$WORK/ordinary.sigma.yml" --list $mode >"$WORK/ordinary.json" 2>"$WORK/ordinary.err" \
      || { cat "$WORK/ordinary.err" >&2; fail "ansible-inventory --list $mode"; }
    python3 "$HERE/check.py" plain "$WORK/ordinary.json" || fail "ansible-inventory --list $mode writes __ansible_unsafe"
    python3 "$HERE/check.py" secrets "$WORK/keys.yml" "$WORK/ordinary.json" || fail "a licence key leaked"
  done

  "$bin/ansible-inventory" -i "$WORK/crafted.sigma.yml" --list --export >"$WORK/crafted.json" 2>"$WORK/crafted.err" \
    || { cat "$WORK/crafted.err" >&2; fail "ansible-inventory --list --export (crafted)"; }
  python3 "$HERE/check.py" crafted "$WORK/crafted.json" "$WORK" || fail "the crafted values are not exported as expected"
  python3 "$HERE/check.py" secrets "$WORK/keys.yml" "$WORK/crafted.json" || fail "a licence key leaked"

  "$bin/ansible-playbook" -i "$WORK/crafted.sigma.yml" "$WORK/use.yml" -e "out=$WORK/direct.txt" >"$WORK/direct.log" 2>&1 \
    || { cat "$WORK/direct.log" >&2; fail "the play on the inventory plugin"; }

  # AWX stores the --export output and hands it to each job as an inventory script
  cat >"$WORK/awx_inventory.py" <<EOF
#!$py
import sys
with open('$WORK/crafted.json') as handle:
    sys.stdout.write(handle.read() if '--list' in sys.argv else '{}')
EOF
  chmod +x "$WORK/awx_inventory.py"
  "$bin/ansible-playbook" -i "$WORK/awx_inventory.py" "$WORK/use.yml" -e "out=$WORK/awx.txt" >"$WORK/awx.log" 2>&1 \
    || { cat "$WORK/awx.log" >&2; fail "the play on the exported inventory"; }
  python3 "$HERE/check.py" rendered "$WORK" "$WORK/direct.txt" "$WORK/awx.txt" "$WORK/direct.log" "$WORK/awx.log" \
    || fail "a template from the server was rendered"
  ran+=("$version")
done

[ ${#skipped[@]} -eq 0 ] || echo "not run (no such virtualenv): ${skipped[*]}"
[ ${#ran[@]} -gt 0 ] || { LEG=all; fail "none of $* exists"; }
echo "cores.sh: the inventory AWX imports is right on: ${ran[*]}"
