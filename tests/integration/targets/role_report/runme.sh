#!/usr/bin/env bash
# Tests of the role sigma.media_server.report against an emulated fleet of its
# own (fleet.yml: 127.0.0.1:19621-19624, control port 19629, nothing on 19627),
# started with the project's scripts/fleet.sh and stopped on exit. The HTML
# report is rendered by headless Chromium and the DOM checked (verify.yml).
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
. "$root/scripts/target-fleet.sh" "$root" "$work" 19629 "$(pwd)/fleet.yml"

config=(-e "@$work/fleet/integration_config.yml")
ansible-playbook -i inventory.sigma.yml setup.yml "${config[@]}" "$@"
sleep 1.5   # the VOD job finishes (vod_duration 1)
ansible-playbook -i inventory.sigma.yml report.yml "${config[@]}" -e "sigma_report_dir=$work/report" "$@" \
  2>&1 | tee "$work/report.log"
grep -q 'rep-dead' "$work/report.log"

timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$work/chromium" --dump-dom "file://$work/report/fleet-report.html" \
  > "$work/report/dom.html" 2> "$work/chromium.log"
[ -s "$work/report/dom.html" ] || { cat "$work/chromium.log" >&2; exit 1; }

ansible-playbook -i inventory.sigma.yml verify.yml "${config[@]}" -e "report_dir=$work/report" "$@"
if grep -F 'hunter2secret' "$work/report.log"; then
  echo "FAILED: a password appears in the output" >&2
  exit 1
fi
echo "role_report: all tests passed"
