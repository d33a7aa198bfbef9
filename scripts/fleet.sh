#!/usr/bin/env bash
# Start/stop an emulated Sigma Media Server fleet in the background.
#   scripts/fleet.sh start STATE_DIR [FLEET_YML] [CONFIG_OUT...]
#   scripts/fleet.sh stop  STATE_DIR
# STATE_DIR receives: emulator.pid, emulator.log, requests.log (request log),
# certs/ (TLS certificates, CA), ready.json (written by the emulator when all
# servers listen) and integration_config.yml (also copied to each CONFIG_OUT).
# Ports come from the fleet file (19901-19929); the control API uses
# $SIGMA_CONTROL_PORT (default 19930). 19999 stays unused ("dead" server).
# Callers that must not overlap (make test / make demo running at the same time
# on one machine) serialise with fleet_lock from lib.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTROL_PORT="${SIGMA_CONTROL_PORT:-19930}"
READY_TIMEOUT="${SIGMA_READY_TIMEOUT:-60}"

start() {
  local state="$1" fleet="${2:-$ROOT/tests/integration/fleet.yml}"
  shift 2 || shift $#
  mkdir -p "$state/certs"
  state="$(cd "$state" && pwd)"
  rm -f "$state/ready.json" "$state/emulator.pid"
  local busy
  busy="$("$VENV/bin/python" - "$fleet" "$CONTROL_PORT" <<'PY'
import socket, sys, yaml
doc = yaml.safe_load(open(sys.argv[1])) or {}
ports = [int(s['port']) for s in doc.get('servers') or [] if s.get('port')] + [int(sys.argv[2])]
for port in ports:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            print(port)
PY
)"
  if [ -n "$busy" ]; then
    die "port(s) $(echo "$busy" | tr '\n' ' ')already in use on 127.0.0.1: another emulated fleet runs (make fleet-down stops the one of make fleet-up)"
  fi
  [ -x "$VENV/bin/python" ] || die "no $VENV: run make venv"
  "$VENV/bin/python" -c 'import sigma_emulator' 2>/dev/null \
    || die "the emulator (package sigma_emulator in ./emulator) is not installed in $VENV"
  note "starting emulated fleet $fleet (log: $state/emulator.log)"
  # setsid: own process group, so stop can end the emulator and its children.
  setsid "$VENV/bin/python" -m sigma_emulator \
      --fleet "$fleet" \
      --request-log "$state/requests.log" \
      --cert-dir "$state/certs" \
      --ready-file "$state/ready.json" \
      --control-port "$CONTROL_PORT" \
      </dev/null >"$state/emulator.log" 2>&1 &
  echo $! > "$state/emulator.pid"
  local pid waited=0
  pid="$(cat "$state/emulator.pid")"
  while [ ! -s "$state/ready.json" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$state/emulator.log" >&2 || true
      die "the emulator exited before it was ready"
    fi
    if [ "$waited" -ge $((READY_TIMEOUT * 10)) ]; then
      cat "$state/emulator.log" >&2 || true
      stop "$state"
      die "the emulator was not ready after ${READY_TIMEOUT}s"
    fi
    sleep 0.1; waited=$((waited + 1))
  done
  "$VENV/bin/python" "$ROOT/scripts/fleet_config.py" "$fleet" "$state" "$CONTROL_PORT" \
    "$state/integration_config.yml" "$@"
  note "fleet ready (pid $pid); config: $state/integration_config.yml"
}

stop() {
  local state="$1" pid
  [ -f "$state/emulator.pid" ] || return 0
  pid="$(cat "$state/emulator.pid")"
  rm -f "$state/emulator.pid"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  note "stopping emulated fleet (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 start STATE_DIR [FLEET_YML] [CONFIG_OUT...] | stop STATE_DIR" ;;
esac
