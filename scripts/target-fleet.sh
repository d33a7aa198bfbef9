# shellcheck shell=bash
# Sourced by integration targets' runme.sh: start the target's own emulated fleet
# and stop it when the script exits.
#
#   . "$root/scripts/target-fleet.sh" ROOT WORK CONTROL_PORT FLEET_FILE
#
# ROOT is the collection root (the folder holding scripts/), WORK the target's
# scratch dir (emptied first). CONTROL_PORT is no longer used (the launcher
# allocates the control port; kept so callers need not change). The servers keep
# the ports FLEET_FILE names: the target's inventory files name them. Exports VENV
# (a shim whose bin/python is the interpreter running the tests: scripts/fleet.sh
# starts the emulator with it), SIGMA_CONTROL_URL and SIGMA_STATE_DIR. The fleet's
# Ansible variables (integration_config.yml) are WORK/fleet/integration_config.yml.

rm -rf "$2"
mkdir -p "$2/venv/bin"
printf '#!/bin/sh\nexec %s "$@"\n' "$(python -c 'import sys; print(sys.executable)')" > "$2/venv/bin/python"
chmod +x "$2/venv/bin/python"
python -c 'import sigma_emulator' 2>/dev/null || export PYTHONPATH="$1/emulator${PYTHONPATH:+:$PYTHONPATH}"
export VENV="$2/venv" SIGMA_STATE_DIR="$2/state"
# shellcheck disable=SC2064  # expand now: the paths are this target's
trap "bash '$1/scripts/fleet.sh' stop '$2/fleet'" EXIT
bash "$1/scripts/fleet.sh" start "$2/fleet" "$4" "$2/fleet/integration_config.yml"
SIGMA_CONTROL_URL="$(python -c 'import json, sys; print("http://127.0.0.1:%d" % json.load(open(sys.argv[1]))["control_port"])' "$2/fleet/ready.json")"
export SIGMA_CONTROL_URL
