#!/usr/bin/env bash
# inventory_sigma: ansible-inventory --list with the sigma.media_server.sigma plugin against an
# emulated fleet of its own (fleet.yml, ports 19500-19599, 19599 dead), compared with reviewed
# JSON and free of __ansible_unsafe (--export: what AWX imports); a crafted server's templates are
# never rendered (cores.sh, on this ansible-core); then the cache: a cold run fills it, a warm run
# sends no request (request log), and --flush-cache fetches again.
#
# The emulator (package sigma_emulator) must be importable by one of: $SIGMA_EMULATOR_PYTHON,
# sigma_emulator.python of the run's integration_config.yml, the test's python, python, python3;
# with $SIGMA_EMULATOR_PATH or sigma_emulator.emulator_path (the emulator/ directory of a checkout)
# added to PYTHONPATH when set. ansible-test passes only PATH and HOME from the environment, so
# under `make integration` the emulator comes from the dev venv (it is installed there) or the config.
set -eu -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/inventory_sigma.XXXXXX")"
LOG="$WORK/requests.log"
EMU_PID=""

stop_emulator() {
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
    kill -TERM -- "-$EMU_PID" 2>/dev/null || kill -TERM "$EMU_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$EMU_PID" 2>/dev/null || true
  fi
  EMU_PID=""
}
cleanup() {
  local rc=$?
  stop_emulator
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAILED: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

SIGMA_EMULATOR_PATH="${SIGMA_EMULATOR_PATH:-$("$PY" check.py setting emulator_path)}"
EMU_PYTHONPATH="$(printf '%s' "${SIGMA_EMULATOR_PATH}:${PYTHONPATH:-}" | sed 's/^://; s/:$//')"
emulator_python() {
  local cand
  for cand in "${SIGMA_EMULATOR_PYTHON:-}" "$("$PY" check.py setting python)" "$PY" python python3; do
    [ -n "$cand" ] || continue
    if PYTHONPATH="$EMU_PYTHONPATH" "$cand" -c 'import sigma_emulator' >/dev/null 2>&1; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

requests() { "$PY" check.py count "$LOG"; }

inventory() {  # inventory OUT_JSON CONFIG [ansible-inventory args...]
  local out="$1" config="$2"
  shift 2
  ansible-inventory -i "$config" --list "$@" >"$out" 2>"$out.err" || { cat "$out.err" >&2; fail "ansible-inventory $config"; }
}

# ---------------------------------------------------------------- the fleet
step "start the emulated fleet"
EMU_PY="$(emulator_python)" || fail "the emulator is not importable: install ./emulator into the test's python, or set SIGMA_EMULATOR_PATH to the emulator/ directory of the checkout (or SIGMA_EMULATOR_PYTHON)"
PYTHONPATH="$EMU_PYTHONPATH" setsid "$EMU_PY" -m sigma_emulator \
    --fleet "$HERE/fleet.yml" --request-log "$LOG" --ready-file "$WORK/ready.json" --quiet \
    </dev/null >"$WORK/emulator.out" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 600); do
  [ -s "$WORK/ready.json" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORK/emulator.out" >&2; fail "the emulator exited before it was ready"; }
  sleep 0.1
done
[ -s "$WORK/ready.json" ] || { cat "$WORK/emulator.out" >&2; fail "the emulator was not ready after 60 s"; }
echo "emulator pid $EMU_PID ready"
"$PY" -c 'import socket, sys; s = socket.socket(); s.settimeout(2); sys.exit(s.connect_ex(("127.0.0.1", 19599)) == 0)' \
  || fail "something listens on 127.0.0.1:19599, the port this test needs dead"

# no inventory cache from the environment unless a step asks for it
unset ANSIBLE_INVENTORY_CACHE ANSIBLE_INVENTORY_CACHE_PLUGIN ANSIBLE_INVENTORY_CACHE_CONNECTION || true
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

# ---------------------------------------------------------------- the inventory
step "ansible-inventory --list equals the reviewed expected.json"
before=$(requests)
inventory "$WORK/list.json" test.sigma.yml
cold_requests=$(( $(requests) - before ))
"$PY" check.py compare "$WORK/list.json" expected.json || fail "the inventory differs from expected.json (diff above)"
"$PY" check.py plain "$WORK/list.json" || fail "ansible-inventory --list writes __ansible_unsafe (AWX stores a dictionary)"
# every unusable server is named in a warning
for host in 127.0.0.1_19599 127.0.0.1_19507 busy-01; do
  tr -s ' \n' ' ' <"$WORK/list.json.err" | grep -q "host $host is in group sigma_unreachable" \
    || { cat "$WORK/list.json.err" >&2; fail "no warning names $host"; }
done
# 8 servers listen; the HTML (HTTP 502) one is asked twice (retries=1); the dead port never logs
[ "$cold_requests" -eq 9 ] || fail "expected 9 requests for a cold run, the request log has $cold_requests"
echo "cold run: $cold_requests requests"

step "ansible-inventory --list --export (what AWX imports) holds plain values"
inventory "$WORK/export.json" test.sigma.yml --export
"$PY" check.py plain "$WORK/export.json" || fail "ansible-inventory --list --export writes __ansible_unsafe"

step "include_dump: the dump as the server sent it, licence key masked (expected_dump.json)"
inventory "$WORK/dump.json" dump.sigma.yml
"$PY" check.py compare "$WORK/dump.json" expected_dump.json || fail "the inventory differs from expected_dump.json (diff above)"
inventory "$WORK/dump-export.json" dump.sigma.yml --export
"$PY" check.py plain "$WORK/dump-export.json" || fail "ansible-inventory --list --export writes __ansible_unsafe in sigma_dump"

step "a crafted server's templates are never rendered, on this ansible-core (cores.sh runs others too)"
bash "$HERE/cores.sh" PATH || fail "cores.sh"

step "fail_on_unreachable fails the run and names the servers"
{ cat test.sigma.yml; echo 'fail_on_unreachable: true'; } >"$WORK/fail.sigma.yml"
if ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ansible-inventory -i "$WORK/fail.sigma.yml" --list >"$WORK/fail.json" 2>"$WORK/fail.err"; then
  fail "ansible-inventory succeeded with fail_on_unreachable: true"
fi
tr -s ' \n' ' ' <"$WORK/fail.err" | grep -q '3 Sigma server(s) could not be used' || { cat "$WORK/fail.err" >&2; fail "no fail_on_unreachable message"; }
tr -s ' \n' ' ' <"$WORK/fail.err" | grep -q '127.0.0.1_19599: Sigma server http://127.0.0.1:19599, function dump: connection refused' \
  || { cat "$WORK/fail.err" >&2; fail "the failure does not name the dead server"; }

step "a misspelt option or a text where a boolean belongs is refused before any request"
refused() {  # refused NAME EXTRA_LINE EXPECTED_MESSAGE
  { cat test.sigma.yml; echo "$2"; } >"$WORK/$1.sigma.yml"
  before=$(requests)
  if ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ansible-inventory -i "$WORK/$1.sigma.yml" --list >"$WORK/$1.json" 2>"$WORK/$1.err"; then
    fail "ansible-inventory accepted '$2'"
  fi
  tr -s ' \n' ' ' <"$WORK/$1.err" | grep -qF "$3" || { cat "$WORK/$1.err" >&2; fail "no message '$3' for '$2'"; }
  [ "$(( $(requests) - before ))" -eq 0 ] || fail "'$2' sent requests"
}
refused typo 'timout: 5' 'unknown option(s) timout (did you mean timeout?)'
refused notbool 'include_dump: perhaps' "include_dump must be a boolean (true or false), got 'perhaps'"
# the same from the environment (AWX's way): Ansible alone would read 'perhaps' as false, TLS checks off
SIGMA_VALIDATE_CERTS=perhaps refused envbool '' \
  "validate_certs must be a boolean (true or false), got 'perhaps' from the environment variable SIGMA_VALIDATE_CERTS"

step "every option from the environment, as AWX passes credentials and source variables"
echo 'plugin: sigma.media_server.sigma' >"$WORK/env.sigma.yml"
SIGMA_INVENTORY_SERVERS='http://127.0.0.1:19501,127.0.0.1:19502' SIGMA_INVENTORY_HOSTNAMES=hostname,url \
  SIGMA_TIMEOUT=5 SIGMA_RETRIES=0 SIGMA_INVENTORY_INCLUDE_DUMP=true SIGMA_HEADERS='{"X-Token": "INVSECRET-TOKEN-0009"}' \
  inventory "$WORK/env.json" "$WORK/env.sigma.yml" --export
"$PY" - "$WORK/env.json" <<'PYEOF' || fail "the inventory built from the environment is not the expected one"
import json, sys
hostvars = json.load(open(sys.argv[1]))['_meta']['hostvars']
assert sorted(hostvars) == ['inv-a10', 'inv-t4'], sorted(hostvars)
assert hostvars['inv-t4']['sigma_api_url'] == 'http://127.0.0.1:19502', hostvars['inv-t4']
assert 'sigma_dump' in hostvars['inv-a10'] and '__ansible_unsafe' not in json.dumps(hostvars)
print('2 hosts from SIGMA_INVENTORY_SERVERS, named by hostname, with their dump')
PYEOF

# ---------------------------------------------------------------- host identity
fault() {  # fault PORT refuse|clear: through another server's control path (a refusing port cannot answer)
  local method=PUT body='{"refuse": {}}'
  [ "$2" = refuse ] || { method=DELETE; body=''; }
  "$PY" - "$1" "$method" "$body" <<'PYEOF' || fail "the emulator's control path refused $2 on port $1"
import sys, urllib.request
port, method, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request('http://127.0.0.1:19501/_emulator/servers/%s/faults' % port, method=method,
                             data=body.encode() if body else None, headers={'Content-Type': 'application/json'})
urllib.request.urlopen(req, timeout=10).read()
PYEOF
}
ALL_UP='inv-clone=http://127.0.0.1:19510,127.0.0.1_19511=http://127.0.0.1:19511,inv-a10=http://127.0.0.1:19501'

step "host identity: two clones up, then the first one down on a fresh runner"
inventory "$WORK/clones.json" clones.sigma.yml
"$PY" check.py names "$WORK/clones.json" "$ALL_UP" || fail "clones: unexpected names"
fault 19510 refuse
inventory "$WORK/clones-down.json" clones.sigma.yml
"$PY" check.py names "$WORK/clones-down.json" \
  '127.0.0.1_19510=http://127.0.0.1:19510,127.0.0.1_19511=http://127.0.0.1:19511,127.0.0.1_19501=http://127.0.0.1:19501' \
  '127.0.0.1_19510,127.0.0.1_19511,127.0.0.1_19501' || fail "a clone took the name of the one that is down"
fault 19510 clear

step "host identity: with the cache, the clone that is down keeps its name (--flush-cache)"
ANSIBLE_INVENTORY_CACHE=true ANSIBLE_INVENTORY_CACHE_PLUGIN=ansible.builtin.jsonfile \
  ANSIBLE_INVENTORY_CACHE_CONNECTION="$WORK/clone-cache" inventory "$WORK/clones-cold.json" clones.sigma.yml
"$PY" check.py names "$WORK/clones-cold.json" "$ALL_UP" || fail "clones (cold cache): unexpected names"
fault 19510 refuse
ANSIBLE_INVENTORY_CACHE=true ANSIBLE_INVENTORY_CACHE_PLUGIN=ansible.builtin.jsonfile \
  ANSIBLE_INVENTORY_CACHE_CONNECTION="$WORK/clone-cache" inventory "$WORK/clones-flushed.json" clones.sigma.yml --flush-cache
"$PY" check.py names "$WORK/clones-flushed.json" "$ALL_UP" inv-clone || fail "the down clone lost its name"
fault 19510 clear

# ---------------------------------------------------------------- the cache
export ANSIBLE_INVENTORY_CACHE=true ANSIBLE_INVENTORY_CACHE_PLUGIN=ansible.builtin.jsonfile \
       ANSIBLE_INVENTORY_CACHE_CONNECTION="$WORK/cache"

step "cache: a cold run fetches every server and fills the cache"
before=$(requests)
inventory "$WORK/cold.json" test.sigma.yml
n=$(( $(requests) - before ))
[ "$n" -eq "$cold_requests" ] || fail "the cold cached run sent $n requests, expected $cold_requests"
[ -n "$(ls -A "$WORK/cache")" ] || fail "the cache directory is empty"
"$PY" check.py compare "$WORK/cold.json" expected.json || fail "cold cached run differs from expected.json"

step "cache: a warm run sends no request and builds the same inventory"
before=$(requests)
inventory "$WORK/warm.json" test.sigma.yml
n=$(( $(requests) - before ))
[ "$n" -eq 0 ] || fail "the warm run sent $n requests"
"$PY" check.py compare "$WORK/warm.json" expected.json || fail "warm run differs from expected.json"
tr -s ' \n' ' ' <"$WORK/warm.json.err" | grep -q "host 127.0.0.1_19599 is in group sigma_unreachable" \
  || fail "the warm run does not warn about the dead server"

step "cache: --flush-cache fetches every server again"
before=$(requests)
inventory "$WORK/flushed.json" test.sigma.yml --flush-cache
n=$(( $(requests) - before ))
[ "$n" -eq "$cold_requests" ] || fail "--flush-cache sent $n requests, expected $cold_requests"
"$PY" check.py compare "$WORK/flushed.json" expected.json || fail "flushed run differs from expected.json"
before=$(requests)
inventory "$WORK/warm2.json" test.sigma.yml
[ "$(( $(requests) - before ))" -eq 0 ] || fail "the run after --flush-cache did not use the refreshed cache"

# ---------------------------------------------------------------- secrets
step "no licence key in any output or in the cache"
"$PY" check.py secrets fleet.yml "$WORK/cache" "$WORK/clone-cache" "$WORK"/*.json "$WORK"/*.err || fail "a licence key leaked"

echo
echo "inventory_sigma: all checks passed"
