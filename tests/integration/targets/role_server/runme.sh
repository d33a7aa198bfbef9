#!/usr/bin/env bash
# Integration test of the sigma.media_server.server role, for real, on THIS
# machine (Debian/Ubuntu, as root; ansible-test: --allow-destructive).
#
# It builds a stand-in sigma-media-server package (versions 3.0.12 and 3.0.13:
# the collection's emulator as the server, an LSB init script, a systemd unit,
# and a stand-in register.sh that records its options), serves it from a local
# flat apt repository over HTTP, and runs the role against localhost so that
# the repository, install, pin/hold, upgrade, service, wait, register and
# licence steps all really run. Everything is removed again on exit.
#
# What the stand-in cannot show:
# - the vendor's real repository layout, signing key (the test repository is
#   [trusted=yes]; sigma_server_repo_key_url/signed-by is not exercised) and
#   package scripts (the real postinst may enable/start/restart the service);
# - systemd: this machine has no systemd as PID 1, so ansible.builtin.service
#   drives the SysV init script (the unit file is shipped but unused);
# - the real register.sh: its option syntax (--enable-origin true|false is our
#   reading) and whether it writes a marker itself (the stand-in does not, the
#   role does), and how registration really turns a licence VALID (the stand-in
#   flips the emulator's licenseStatus through its control API);
# - RHEL-family hosts (repo_redhat.yml / package_redhat.yml are not run here);
# - GPU, media and the vendor's own upgrade migrations.
#
# Environment: SIGMA_STANDIN_PORT (server API, default 19841),
# SIGMA_STANDIN_REPO_PORT (HTTP repository, default 19842),
# SIGMA_STANDIN_DEAD_PORT (nothing listens, default 19843),
# SIGMA_EMULATOR_PYTHON (a Python that imports sigma_emulator + aiohttp + yaml).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${SIGMA_STANDIN_PORT:-19841}"
REPO_PORT="${SIGMA_STANDIN_REPO_PORT:-19842}"
DEAD_PORT="${SIGMA_STANDIN_DEAD_PORT:-19843}"
PKG=sigma-media-server
REPO_NAME=sigma-media-server-standin-test
say() { printf '\n### %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ preconditions
[ "$(id -u)" = 0 ] || fail "must run as root (it installs a package)"
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then fail "needs a Debian/Ubuntu host"; fi
if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed || [ -e /etc/sigma-machine ] \
   || [ -e /etc/default/sigma-media-server ]; then
  fail "this machine already has $PKG (or /etc/sigma-machine): refusing to touch it"
fi
for p in "$PORT" "$REPO_PORT" "$DEAD_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p is in use"; fi
done
if ! command -v dpkg-scanpackages >/dev/null; then
  say "installing dpkg-dev (dpkg-scanpackages)"
  apt-get install -y -q dpkg-dev >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q dpkg-dev >/dev/null; }
fi

# A Python with the emulator and its dependencies: $SIGMA_EMULATOR_PYTHON, or
# the first python3/python on PATH that has them (make test puts .venv/bin on
# PATH; ansible-test's own venv comes first but lacks aiohttp). The emulator's
# source is also looked for beside the collection's checkout.
emu_src=""
for d in "$HERE/../../../../emulator" "${SIGMA_EMULATOR_SRC:-/nonexistent}"; do
  [ -f "$d/sigma_emulator/__init__.py" ] && emu_src="$(cd "$d" && pwd)" && break
done
EMU_PY=""
candidates=("${SIGMA_EMULATOR_PYTHON:-}")
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do candidates+=("$d/python3" "$d/python"); done
for py in "${candidates[@]}"; do
  [ -n "$py" ] && [ -x "$py" ] || continue
  if PYTHONPATH="$emu_src" "$py" -c 'import sigma_emulator, aiohttp, yaml' 2>/dev/null; then EMU_PY="$py"; break; fi
done
[ -n "$EMU_PY" ] || fail "no Python with sigma_emulator, aiohttp and yaml found (set SIGMA_EMULATOR_PYTHON)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/role_server.XXXXXX")"
HTTP_PID=""
cleanup() {
  local rc=$?
  set +e
  say "cleanup"
  if dpkg-query -W "$PKG" >/dev/null 2>&1; then
    echo "$PKG install" | dpkg --set-selections
    dpkg --purge "$PKG" >/dev/null
  fi
  # the server would only survive a failed purge
  [ -f /run/sigma-media-server.pid ] && kill "$(cat /run/sigma-media-server.pid)" 2>/dev/null
  rm -f "/etc/apt/sources.list.d/$REPO_NAME.list" /etc/default/sigma-media-server \
        /run/sigma-media-server.pid /var/log/sigma-media-server.log /var/log/sigma-media-server.requests.log
  rm -f /var/lib/apt/lists/127.0.0.1:"${REPO_PORT}"_*
  rm -rf /etc/sigma-machine /var/lib/sigma-media-server-standin /run/sigma-media-server /opt/sigma-media-server
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  if [ "$rc" = 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK for inspection"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ stand-in package + repository
say "building the stand-in packages 3.0.12 and 3.0.13 (emulator from $EMU_PY)"
extra="$(PYTHONPATH="$emu_src" bash "$HERE/build_standin.sh" "$EMU_PY" "$WORK" 3.0.12 3.0.13)"
PYTHONPATH="" "$EMU_PY" -m http.server "$REPO_PORT" --bind 127.0.0.1 --directory "$WORK/repo" \
  >"$WORK/http.log" 2>&1 &
HTTP_PID=$!

# The server's port and (if needed) interpreter: site configuration the role
# does not manage, like a real /etc/default file.
{ echo "SIGMA_PORT=$PORT"; [ -n "$extra" ] && echo "$extra"; } > /etc/default/sigma-media-server
mkdir -p "$WORK/data"

TOKEN="standin-token-$RANDOM$RANDOM-secret"
cat > "$WORK/vars.yml" <<VARS
sigma_server_repo_url: http://127.0.0.1:$REPO_PORT
sigma_server_repo_name: $REPO_NAME
sigma_server_repo_trusted: true
sigma_server_repo_apt_suite: ./
sigma_server_repo_apt_components: ""
sigma_server_api_port: $PORT
sigma_server_wait_timeout: 30
sigma_server_wait_delay: 1
sigma_server_license_wait: 10
sigma_server_name: standin-01
sigma_server_enable_ingest: false
sigma_server_data_dir: $WORK/data
sigma_server_token: $TOKEN
sigma_lineup_dir: $WORK/lineups
sigma_lineup:
  - name: ch1
    input: udp://239.1.1.1:5000
    gpu: 0
    profiles:
      - {id: "0x100", codec: h264, width: 1280, height: 720, bitrate: 2500k}
      - {id: "0x101", type: audio, codec: aac}
    targets:
      - {format: hls, url: $WORK/data/ch1, select: ["0x100", "0x101"]}
  - name: ch2
    input: udp://239.1.1.2:5000
    gpu: 0
    profiles:
      - {id: "0x100", codec: h264, width: 1920, height: 1080, bitrate: 5000k}
    targets:
      - {format: hls, url: $WORK/data/ch2, select: ["0x100"]}
VARS
printf 'standin ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n' > "$WORK/inventory"

export ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_DEPRECATION_WARNINGS=0
n=0
# run NAME [ansible-playbook args...]: the role, output in $WORK/NAME.log; returns its exit code
run() {
  local name="$1"; shift
  n=$((n + 1))
  say "$n. $name"
  local rc=0 t0=$SECONDS
  ansible-playbook -v -i "$WORK/inventory" "$HERE/server.yml" -e @"$WORK/vars.yml" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  grep -A1 'PLAY RECAP' "$WORK/$name.log" | tail -n 1
  echo "($((SECONDS - t0)) s)"
  return "$rc"
}
must_pass() { run "$@" || { cat "$WORK/$1.log"; fail "$1: the role failed"; }; }
must_fail() { if run "$@"; then cat "$WORK/$1.log"; fail "$1: the role should have failed"; fi; }
changed() { sed -n 's/.*standin *: .*changed=\([0-9]*\).*/\1/p' "$WORK/$1.log"; }
expect_changed() { [ "$(changed "$1")" -gt 0 ] || { cat "$WORK/$1.log"; fail "$1: expected changes"; }; }
expect_unchanged() { [ "$(changed "$1")" = 0 ] || { cat "$WORK/$1.log"; fail "$1: expected changed=0"; }; }
expect_log() { grep -qF -- "$2" "$WORK/$1.log" || { cat "$WORK/$1.log"; fail "$1: output lacks: $2"; }; }
# verify VERSION REGISTRATIONS: the machine's state after a role run
verify() {
  local want="$1" regs="$2" got links
  grep -qxF "deb [trusted=yes] http://127.0.0.1:$REPO_PORT ./" "/etc/apt/sources.list.d/$REPO_NAME.list" \
    || fail "step $n: unexpected sources entry: $(cat "/etc/apt/sources.list.d/$REPO_NAME.list")"
  got="$(dpkg-query -W -f='${db:Status-Status} ${Version} ${db:Status-Want}' "$PKG")"
  [ "$got" = "installed $want hold" ] || fail "step $n: dpkg says '$got', expected 'installed $want hold'"
  service "$PKG" status >/dev/null || fail "step $n: the service does not run"
  links="$(find /etc/rc2.d /etc/rc3.d /etc/rc5.d -name "S??$PKG" -type l | wc -l)"
  [ "$links" = 3 ] || fail "step $n: the service is not enabled (start links: $links)"
  [ "$(dump_field version)" = "$want" ] || fail "step $n: the server reports version $(dump_field version)"
  [ "$(dump_field licenseStatus)" = VALID ] || fail "step $n: the server reports licence $(dump_field licenseStatus)"
  python3 - "$regs" "$TOKEN" "$WORK/data" <<'PY' || fail "step $n: register.sh was not called as expected"
import json, sys
want, token, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
calls = [json.loads(l) for l in open("/var/lib/sigma-media-server-standin/register.log")]
expected = {"server_name": "standin-01", "enable_origin": "true", "enable_ingest": "false",
            "server_token": token, "server_data_dir": data}
if len(calls) != want or calls[0] != expected:
    sys.exit(f"{len(calls)} call(s), first: {dict(calls[0], server_token='MASKED') if calls else None}")
PY
  grep -qxF "registered by Ansible (sigma.media_server.server) as standin-01" /etc/sigma-machine/registered \
    || fail "step $n: the role did not write the registration marker"
  echo "verified: $PKG $want installed and held, service enabled and running, API reports $want and VALID, $regs registration(s)"
}
dump_field() {
  python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))[sys.argv[2]])' \
    "http://127.0.0.1:$PORT/" "$1"
}
# jobs_running: names of the jobs the stand-in runs (or still starts: the emulator's start phases), sorted
jobs_running() {
  python3 -c 'import json,sys,urllib.request; print(" ".join(sorted(n for n, j in json.load(urllib.request.urlopen(sys.argv[1]))["jobs"].items() if j["state"] in ("starting", "preparing", "started"))))' \
    "http://127.0.0.1:$PORT/_emulator/servers/$PORT/state"
}
# start_stop_calls: the stand-in's start/stop requests, in order ("start:ch1 stop:ch1 ...")
start_stop_calls() {
  python3 - /var/log/sigma-media-server.requests.log <<'PY'
import json, sys
calls = [json.loads(line) for line in open(sys.argv[1])]
print(" ".join("%s:%s" % (c["function"], c.get("name")) for c in calls if c.get("function") in ("start", "stop")))
PY
}
nothing_installed() {
  [ ! -e "/etc/apt/sources.list.d/$REPO_NAME.list" ] || fail "$1 wrote the repository file"
  ! dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed || fail "$1 installed $PKG"
}

# ------------------------------------------------------------------ scenarios
must_fail no-token -e sigma_server_version=3.0.12 -e sigma_server_token=
expect_log no-token "sigma_server_token is empty, but standin is not registered yet"
nothing_installed no-token

must_pass check-fresh --check -e sigma_server_version=3.0.12
expect_changed check-fresh
nothing_installed "check mode"

must_pass install -e sigma_server_version=3.0.12
expect_changed install
verify 3.0.12 1
expect_log install '"server_license_status": "VALID"'
expect_log install '"server_running_version": "3.0.12"'


must_pass idempotent -e sigma_server_version=3.0.12
expect_unchanged idempotent
verify 3.0.12 1

say "$n+. start the lineup ch1, ch2 with the lineup role"
ansible-playbook -i "$WORK/inventory" "$HERE/jobs.yml" -e @"$WORK/vars.yml" >"$WORK/jobs.log" 2>&1 \
  || { cat "$WORK/jobs.log"; fail "the lineup role could not start the lineup"; }
[ "$(jobs_running)" = "ch1 ch2" ] || fail "the lineup does not run: '$(jobs_running)'"
echo "running: $(jobs_running)"

start_before="$(dump_field start)"
must_pass check-upgrade --check -e sigma_server_version=3.0.13 -e sigma_server_drain_on_upgrade=true
expect_changed check-upgrade
[ "$(jobs_running)" = "ch1 ch2" ] || fail "check mode drained the jobs: '$(jobs_running)'"
[ ! -e "$WORK/lineups/standin.json" ] || fail "check mode saved a lineup"
[ "$(dump_field version)" = 3.0.12 ] || fail "check mode upgraded the server"
[ "$(dump_field start)" = "$start_before" ] || fail "check mode restarted the server"
verify 3.0.12 1

must_pass upgrade -e sigma_server_version=3.0.13 -e sigma_server_drain_on_upgrade=true
expect_changed upgrade
verify 3.0.13 1
[ "$(dump_field start)" != "$start_before" ] || fail "the upgrade did not restart the server"
# drained (saved, stopped) before the restart, restored after it
[ "$(jobs_running)" = "ch1 ch2" ] || fail "the drained jobs were not restored: '$(jobs_running)'"
calls="$(start_stop_calls)"
case "$calls" in
  "start:ch1 start:ch2 stop:ch1 stop:ch2 start:ch1 start:ch2"|"start:ch1 start:ch2 stop:ch2 stop:ch1 start:ch1 start:ch2") ;;
  *) fail "unexpected start/stop sequence around the upgrade: $calls" ;;
esac
grep -q '"restored"' "$WORK/lineups/standin.json" || fail "the lineup role's restore did not mark the drain restored"
echo "drain/restore: $calls"

must_pass idempotent-upgraded -e sigma_server_version=3.0.13 -e sigma_server_drain_on_upgrade=true
expect_unchanged idempotent-upgraded
[ "$(start_stop_calls)" = "$calls" ] || fail "a run without an upgrade drained the server: $(start_stop_calls)"

must_pass check-idempotent --check -e sigma_server_version=3.0.13
expect_unchanged check-idempotent

must_fail downgrade -e sigma_server_version=3.0.12
verify 3.0.13 1

# Licence: flip the running stand-in's licenseStatus through the emulator's control API.
set_license() {
  python3 -c 'import json,sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="PATCH", data=json.dumps({"license_status": sys.argv[2]}).encode(), headers={"Content-Type": "application/json"})).read()' \
    "http://127.0.0.1:$PORT/_emulator/servers/$PORT/config" "$1"
}
set_license EXPIRED
must_fail license-expired -e sigma_server_version=3.0.13
expect_log license-expired "is not valid: licenseStatus is EXPIRED"
must_pass license-warn -e sigma_server_version=3.0.13 -e sigma_server_license_action=warn
expect_log license-warn "WARNING: the licence of Sigma Media Server standin"
expect_log license-warn "licenseStatus is EXPIRED"
expect_unchanged license-warn
set_license VALID

must_fail wait-timeout -e sigma_server_version=3.0.13 -e sigma_server_api_port="$DEAD_PORT" -e sigma_server_wait_timeout=2
expect_log wait-timeout "at http://127.0.0.1:$DEAD_PORT/ (standin) did not report version 3.0.13 within 2 s"
expect_log wait-timeout "Connection refused"

verify 3.0.13 1

say "secrets"
if grep -rlF -- "$TOKEN" "$WORK"/*.log; then fail "the registration token appears in the output above"; fi
if grep -rlF -- "Y7KI4-HHQX5" "$WORK"/*.log; then fail "the licence key from dump appears in the output above"; fi
echo "neither the token nor the licence key appear in any output"

say "role_server: all $n scenarios passed"
