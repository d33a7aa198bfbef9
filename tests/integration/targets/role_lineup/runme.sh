#!/usr/bin/env bash
# Tests of the role sigma.media_server.lineup against an emulated fleet of its own
# (fleet.yml: 127.0.0.1:19611-19613, control port 19619), started with the
# project's scripts/fleet.sh and stopped on exit.
set -eux -o pipefail

# The collection root holds scripts/fleet.sh and the emulator; ansible-test runs
# this script from a copy of the target inside the collection's tests/output.
root="$(pwd)"
while [ "$root" != / ] && [ ! -f "$root/scripts/fleet.sh" ]; do root="$(dirname "$root")"; done
[ -f "$root/scripts/fleet.sh" ] || { echo "scripts/fleet.sh not found above $(pwd)" >&2; exit 1; }

work="${OUTPUT_DIR:-$(mktemp -d)}/role_lineup"
. "$root/scripts/target-fleet.sh" "$root" "$work" 19619 "$(pwd)/fleet.yml"

export ANSIBLE_DISPLAY_SKIPPED_HOSTS=true
ansible-playbook -i inventory.sigma.yml tests.yml \
  -e "@$work/fleet/integration_config.yml" -e "sigma_lineup_dir=$work/lineups" "$@" 2>&1 | tee "$work/tests.log"

# The DRM key of the lineup never shows in the output.
if grep -F 'cm9sZS1qb2JzLXNlY3JldC1rZXk=' "$work/tests.log"; then
  echo "FAILED: the DRM key of the lineup appears in the output" >&2
  exit 1
fi
# Nor in the drain file, which holds job names only.
[ -f "$work/lineups/jobs-a10.json" ]
if grep -F 'cm9sZS1qb2JzLXNlY3JldC1rZXk=' "$work/lineups/jobs-a10.json"; then
  echo "FAILED: the DRM key of the lineup appears in the drain file" >&2
  exit 1
fi
echo "role_lineup: all tests passed"
