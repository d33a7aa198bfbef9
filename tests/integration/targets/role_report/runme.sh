#!/usr/bin/env bash
# Tests of the role sigma.media_server.report, in two parts:
#
# 1. a small emulated fleet of its own (fleet.yml: 127.0.0.1:19621-19624, control
#    port 19629, nothing on 19627) with every kind of server, secrets and markup in
#    server data: the JSON twin, the set_stats data and the DOM headless Chromium
#    builds (--dump-dom) are checked in verify.yml; the report goes to another host
#    of the inventory (sigma_report_dest_host);
# 2. 1000 emulated servers (the emulator's --count fleet, started by its launcher, ephemeral
#    ports on a loopback address of their own) given problems by fleet1000.py, reported by the
#    playbook fleet_report.yml: the data
#    and the requests each server got (check_fleet.py: one dump, one progress), then the page in headless
#    Chromium at desktop and phone width (check_page.py: first screen, no sideways
#    scroll, no network, sort, filter, links, size under 2 MB).
#
# Screenshots and the 1000-server report are kept under tests/output/reports/role_report
# (scripts/test.sh copies tests/output/reports back to the checkout).
set -eux -o pipefail

chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$chromium" ]; then
  echo "FAILED: headless Chromium is needed to check the HTML report (Debian: apt-get install chromium; or CHROMIUM=/path)" >&2
  exit 1
fi

root="$(pwd)"
while [ "$root" != / ] && [ ! -f "$root/scripts/fleet.sh" ]; do root="$(dirname "$root")"; done
[ -f "$root/scripts/fleet.sh" ] || { echo "scripts/fleet.sh not found above $(pwd)" >&2; exit 1; }

work="${OUTPUT_DIR:-$(mktemp -d)}/role_report"
artifacts="$root/tests/output/reports/role_report"
. "$root/scripts/target-fleet.sh" "$root" "$work" 19629 "$(pwd)/fleet.yml"

big="$work/fleet1000"
stop_big() {
  python -m sigma_emulator.testing stop "$big/emulator" || true
  bash "$root/scripts/fleet.sh" stop "$work/fleet"
}
trap stop_big EXIT

custom_stats() {  # LOG OUT: the set_stats data the run printed (ANSIBLE_SHOW_CUSTOM_STATS) as JSON
  python - "$1" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1], encoding='utf-8') if l.startswith('\tRUN: ')]
assert len(lines) == 1, 'no (single) custom stats line in %s' % sys.argv[1]
json.dump(json.loads(lines[0][len('\tRUN: '):]), open(sys.argv[2], 'w', encoding='utf-8'))
PY
}

# --- 1. the small fleet
started=$SECONDS
config=(-e "@$work/fleet/integration_config.yml")
inventory=(-i inventory.sigma.yml -i web.yml)
ansible-playbook "${inventory[@]}" setup.yml "${config[@]}" "$@"
sleep 1.5   # the VOD job finishes (vod_duration 1)
ANSIBLE_SHOW_CUSTOM_STATS=1 ansible-playbook "${inventory[@]}" report.yml "${config[@]}" \
  -e "sigma_report_dir=$work/report" "$@" 2>&1 | tee "$work/report.log"
grep -q 'rep-dead' "$work/report.log"
custom_stats "$work/report.log" "$work/report/stats.json"

timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$work/chromium" --dump-dom "file://$work/report/fleet-report.html" \
  > "$work/report/dom.html" 2> "$work/chromium.log"
[ -s "$work/report/dom.html" ] || { cat "$work/chromium.log" >&2; exit 1; }

ansible-playbook "${inventory[@]}" verify.yml "${config[@]}" -e "report_dir=$work/report" "$@"
if grep -F 'hunter2secret' "$work/report.log"; then
  echo "FAILED: a password appears in the output" >&2
  exit 1
fi
# a server's connection variable of a wrong type: a clear error naming the host, no request, no file
requests_before="$(wc -l < "$work/fleet/requests.jsonl")"
if ansible-playbook -i bad.yml -i web.yml report-bad.yml -e "report_dir=$work/report-bad" "$@" > "$work/report-bad.log" 2>&1; then
  echo "FAILED: a report with a bad sigma_timeout did not fail" >&2
  exit 1
fi
grep -q "_terms\[0\] (rep-bad): .*timeout.*float" "$work/report-bad.log" || { cat "$work/report-bad.log" >&2; exit 1; }
[ ! -e "$work/report-bad/fleet-report.html" ]
[ "$(wc -l < "$work/fleet/requests.jsonl")" = "$requests_before" ] || { echo "FAILED: requests were sent" >&2; exit 1; }
echo "role_report: small fleet passed in $((SECONDS - started)) s"

# --- 2. 1000 servers with problems
started=$SECONDS
mkdir -p "$big" "$artifacts"
python fleet1000.py "$big" 15   # starts the fleet (on its own loopback address) and gives it problems
shaped=$SECONDS
log_offset="$(stat -c %s "$big/emulator/requests.jsonl")"
ANSIBLE_SHOW_CUSTOM_STATS=1 ansible-playbook -i "$big/inventory.yml" sigma.media_server.fleet_report \
  -e "sigma_report_dir=$big/report" "$@" > "$big/report.log" 2>&1 || { tail -n 50 "$big/report.log" >&2; exit 1; }
reported=$SECONDS
custom_stats "$big/report.log" "$big/stats.json"
python check_fleet.py "$big/report/fleet-report.json" "$big/expected.json" "$big/emulator/requests.jsonl" "$log_offset" \
  "$big/stats.json" "$big/report.log"
python check_page.py "$chromium" "$big/report/fleet-report.html" "$big/report/fleet-report.json" \
  "$big/expected.json" "$artifacts"
cp "$big/report/fleet-report.html" "$big/report/fleet-report.json" "$artifacts/"
echo "role_report: 1000 servers passed in $((SECONDS - started)) s (fleet shaped in $((shaped - started)) s," \
  "fleet_report.yml $((reported - shaped)) s, checks $((SECONDS - reported)) s)"
echo "role_report: all tests passed"
