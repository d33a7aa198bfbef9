#!/usr/bin/env bash
# `make demo`: the whole collection at work on an emulated fleet, in about a minute.
#
#   1. builds the collection and installs it into build/demo/collections
#   2. starts an emulated fleet (playbooks/demo/fleet.yml: six servers, mixed GPU
#      models, one licence EXPIRED) on 127.0.0.1:19701-19706; the inventory also
#      lists demo-dead (port 19707), where nothing listens
#   3. builds the inventory with the plugin sigma.media_server.sigma (--graph)
#   4. runs deploy_jobs.yml twice: the second run must change nothing
#   5. runs fleet_report.yml and prints where the HTML report is
#   6. stops the fleet (also on failure or Ctrl-C)
#
# Needs the dev venv (.venv, `make venv`). Ports 19701-19707 must be free.
# SIGMA_DEMO_DIR overrides the work directory (default build/demo).
#
#   scripts/demo.sh build   only builds the collection tarball into build/ (make build)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${1:-}" = build ]; then
  [ -x "$VENV/bin/ansible-galaxy" ] || die "no $VENV/bin/ansible-galaxy: run make venv first"
  mkdir -p "$ROOT/build"
  (cd "$ROOT" && "$VENV/bin/ansible-galaxy" collection build --force --output-path "$ROOT/build" .)
  exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [build]"

DEMO_DIR="${SIGMA_DEMO_DIR:-$ROOT/build/demo}"
INVENTORY="$ROOT/playbooks/demo/demo.sigma.yml"
FLEET="$ROOT/playbooks/demo/fleet.yml"
START="$(date +%s)"

[ -x "$VENV/bin/ansible-playbook" ] || die "no $VENV/bin/ansible-playbook: run make venv first"
"$VENV/bin/python" -c 'import sigma_emulator' 2>/dev/null \
  || die "the emulator is not installed in $VENV: run make venv"

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
DEMO_DIR="$(cd "$DEMO_DIR" && pwd)"

export ANSIBLE_COLLECTIONS_PATH="$DEMO_DIR/collections"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_HOME="$DEMO_DIR/ansible-home"
# the sigma_jobs modules keep a small ledger of live updates; keep the demo's out of ~/.cache
export SIGMA_STATE_DIR="$DEMO_DIR/state"
export PATH="$VENV/bin:$PATH"

header "1/5 build and install the collection sigma.media_server"
(cd "$ROOT" && ansible-galaxy collection build --force --output-path "$DEMO_DIR" . >/dev/null)
tarball="$(ls "$DEMO_DIR"/sigma-media_server-*.tar.gz)"
ansible-galaxy collection install --force --offline -p "$DEMO_DIR/collections" "$tarball" >/dev/null
note "installed $(basename "$tarball") into $DEMO_DIR/collections"

header "2/5 start the emulated fleet ($FLEET)"
stop_fleet() { bash "$ROOT/scripts/fleet.sh" stop "$DEMO_DIR/fleet" || true; }
trap stop_fleet EXIT
trap 'exit 130' INT TERM
bash "$ROOT/scripts/fleet.sh" start "$DEMO_DIR/fleet" "$FLEET"

header "3/5 the inventory, built by the plugin sigma.media_server.sigma"
ansible-inventory -i "$INVENTORY" --graph

header "4/5 deploy the job lineups: deploy_jobs.yml, first run"
ansible-playbook -i "$INVENTORY" sigma.media_server.deploy_jobs | tee "$DEMO_DIR/deploy-1.log"

header "4/5 deploy the job lineups again: deploy_jobs.yml, second run (must change nothing)"
ansible-playbook -i "$INVENTORY" sigma.media_server.deploy_jobs | tee "$DEMO_DIR/deploy-2.log"
if grep -E 'changed=[1-9]' "$DEMO_DIR/deploy-2.log" >/dev/null; then
  die "the second deploy_jobs.yml run changed something: it must be idempotent (see $DEMO_DIR/deploy-2.log)"
fi
grep -q 'no changes' "$DEMO_DIR/deploy-2.log" || die "the second run's summary does not say 'no changes'"

header "5/5 the fleet report: fleet_report.yml"
ansible-playbook -i "$INVENTORY" sigma.media_server.fleet_report \
  -e "sigma_report_dir=$DEMO_DIR/report" | tee "$DEMO_DIR/report.log"

report="$DEMO_DIR/report/fleet-report.html"
[ -s "$report" ] || die "no report at $report"
summary="$("$VENV/bin/python" - "$DEMO_DIR/report/fleet-report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1], encoding='utf-8'))
s = r['summary']
print('servers:            %d (%d reachable)' % (s['servers'], s['reachable']))
print('unreachable:        %s' % (', '.join(s['unreachable']) or 'none'))
print('licence not VALID:  %s' % (', '.join(
    '%s (%s)' % (x['name'], x['license']['status']) for x in r['servers']
    if x['reachable'] and not x['license']['valid']) or 'none'))
print('GPU cards:          %d' % s['gpus'])
print('jobs:               %d (%s)' % (s['jobs'], ', '.join('%d %s' % (n, st) for st, n in sorted(s['jobs_by_state'].items())) or 'none'))
for x in r['servers']:
    if x['reachable']:
        print('  %-14s %-7s %-8s %-26s %d job(s)' % (x['name'], x['version'], x['license']['status'],
              ', '.join(x['gpu_models']) or 'CPU only', len(x['jobs'])))
    else:
        print('  %-14s unreachable: %s' % (x['name'], x['error']))
PY
)"

header "demo done in $(( $(date +%s) - START ))s"
echo "second deploy_jobs.yml run: no changes (changed=0 on every server)"
echo "$summary"
echo
echo "HTML report: $report"
echo "JSON twin:   $DEMO_DIR/report/fleet-report.json"
echo "open it with: xdg-open $report   (or file://$report in a browser)"
