#!/usr/bin/env bash
# Start/stop an emulated Sigma Media Server fleet in the background, with the
# emulator's one launcher (python -m sigma_emulator.testing):
#   scripts/fleet.sh start STATE_DIR [FLEET_YML] [CONFIG_OUT...]
#   scripts/fleet.sh stop  STATE_DIR
# STATE_DIR receives fleet.yml, ready.json (servers, URLs, control port),
# requests.jsonl (request log), certs/ (CA ca.pem), emulator.log and pid; each
# CONFIG_OUT gets the Ansible variables {sigma_emulator: {servers, control,
# control_url, ca_path, request_log, dead_url, auth, emulator_path, python}}. A
# server the fleet file gives a port listens there (other files name it, such as
# an inventory source); every other port, the control port included, is ephemeral
# (SIGMA_EPHEMERAL_PORTS=1: every port), so two runs on one machine never collide.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x "$VENV/bin/python" ] || die "no $VENV: run make venv"
# this checkout's emulator first (the venv's copy may be another checkout's)
export PYTHONPATH="$ROOT/emulator${PYTHONPATH:+:$PYTHONPATH}"
launcher=("$VENV/bin/python" -m sigma_emulator.testing)
case "${1:-}" in
  start)
    [ $# -ge 2 ] || die "usage: $0 start STATE_DIR [FLEET_YML] [CONFIG_OUT...]"
    args=(start "$2" --fleet "${3:-$ROOT/tests/integration/fleet.yml}")
    shift 2; [ $# -eq 0 ] || shift
    for out in "$@"; do args+=(--config "$out"); done
    [ "${SIGMA_EPHEMERAL_PORTS:-0}" != 1 ] || args+=(--ephemeral-ports)
    exec "${launcher[@]}" "${args[@]}" ;;
  stop)
    [ $# -eq 2 ] || die "usage: $0 stop STATE_DIR"
    [ -d "$2" ] || exit 0
    exec "${launcher[@]}" stop "$2" ;;
  *) die "usage: $0 start STATE_DIR [FLEET_YML] [CONFIG_OUT...] | stop STATE_DIR" ;;
esac
