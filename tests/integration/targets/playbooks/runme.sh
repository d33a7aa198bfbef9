#!/usr/bin/env bash
# Tests of the playbooks deploy_jobs.yml, fleet_report.yml, drain.yml and
# restore.yml (and of heal_job.yml and heal_server.yml for a host pattern that
# matches nothing), run as sigma.media_server.<name>, against an emulated fleet of
# their own (files/fleet.yml: 127.0.0.1:19631-19634, control port 19639, nothing on
# 19637), started with the project's scripts/fleet.sh and stopped on exit.
set -eux -o pipefail

root="$(pwd)"
while [ "$root" != / ] && [ ! -f "$root/scripts/fleet.sh" ]; do root="$(dirname "$root")"; done
[ -f "$root/scripts/fleet.sh" ] || { echo "scripts/fleet.sh not found above $(pwd)" >&2; exit 1; }

work="${OUTPUT_DIR:-$(mktemp -d)}/playbooks"
. "$root/scripts/target-fleet.sh" "$root" "$work" 19639 "$(pwd)/files/fleet.yml"

fail() { echo "FAILED: $*" >&2; exit 1; }
play() {  # NAME LOG [ARGS...]: run the collection's playbook NAME, output to LOG (and stdout)
  local name="$1" log="$2"; shift 2
  ansible-playbook -i files/inventory.sigma.yml "sigma.media_server.$name" \
    -e "sigma_lineup_dir=$work/lineups" "$@" 2>&1 | tee "$work/$log"
}
# A run as AWX runs a job: its own process, a fresh HOME (so no drain file in
# the default ~/.ansible/sigma/lineups), the set_stats data written to the file
# ARTIFACTS by the test callback files/callback_plugins/artifacts.py as
# ansible-runner gives it to AWX; FACTS=DIR adds a jsonfile fact cache ("" none).
awx_run() {  # NAME LOG ARTIFACTS FACTS [ARGS...]
  local name="$1" log="$2" artifacts="$3" facts="$4" home
  shift 4
  home="$(mktemp -d "$work/home.XXXXXX")"
  local env=(HOME="$home" SIGMA_TEST_ARTIFACTS="$artifacts"
             ANSIBLE_CALLBACK_PLUGINS="$(pwd)/files/callback_plugins"
             ANSIBLE_CALLBACKS_ENABLED="${ANSIBLE_CALLBACKS_ENABLED:+$ANSIBLE_CALLBACKS_ENABLED,}artifacts")
  [ -z "$facts" ] || env+=(ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION="$facts")
  env "${env[@]}" ansible-playbook -i files/inventory.sigma.yml "sigma.media_server.$name" "$@" 2>&1 | tee "$work/$log"
}
json_check() {  # FILE PYTHON: run PYTHON with `data` = the JSON of FILE
  python - "$1" "$2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1], encoding='utf-8'))
exec(sys.argv[2])
PY
}
jobs_state() {  # PORT NAME: the job's state
  python - "$1" "$2" <<'PY'
import json, sys, urllib.request
state = json.load(urllib.request.urlopen('http://127.0.0.1:%s/_emulator/servers/%s/state' % (sys.argv[1], sys.argv[1]), timeout=10))
print(state['jobs'].get(sys.argv[2], {}).get('state', 'absent'))
PY
}
jobs_on() {  # PORT: the server's job names, sorted, one line
  python - "$1" <<'PY'
import json, sys, urllib.request
state = json.load(urllib.request.urlopen('http://127.0.0.1:%s/_emulator/servers/%s/state' % (sys.argv[1], sys.argv[1]), timeout=10))
print(' '.join(sorted(state['jobs'])))
PY
}
configs_on() {  # PORT [NAMES]: digest of {name: config} of the server's jobs, or of NAMES (configs hold DRM keys: never print them)
  python - "$1" "${2:-}" <<'PY'
import hashlib, json, sys, urllib.request
state = json.load(urllib.request.urlopen('http://127.0.0.1:%s/_emulator/servers/%s/state' % (sys.argv[1], sys.argv[1]), timeout=10))
names = sys.argv[2].split() or list(state['jobs'])
configs = dict((n, state['jobs'][n]['config']) for n in names if n in state['jobs'])
print('%d:%s' % (len(configs), hashlib.sha256(json.dumps(configs, sort_keys=True).encode('utf-8')).hexdigest()))
PY
}

# --- deploy_jobs.yml: first run starts every lineup; the dead server is skipped
play deploy_jobs deploy-1.log
grep -E '^pb-a10 .*changed=1 ' "$work/deploy-1.log" || fail "first deploy: pb-a10 not changed"
grep -q '6 job(s) changed on 3 of 3 server(s)' "$work/deploy-1.log" || fail "first deploy: wrong summary"
grep -q 'pb-dead: SKIPPED, unreachable' "$work/deploy-1.log" || fail "first deploy: the dead server is not listed"
grep -q 'pb-expired: no lineup, left alone' "$work/deploy-1.log" || fail "first deploy: pb-expired not listed"
[ "$(jobs_on 19631)" = "a1 a2 a3" ] || fail "pb-a10 runs: $(jobs_on 19631)"
[ "$(jobs_on 19632)" = "t1 t2" ] || fail "pb-t4 runs: $(jobs_on 19632)"
[ "$(jobs_on 19633)" = "c1" ] || fail "pb-cpu runs: $(jobs_on 19633)"
[ "$(jobs_on 19634)" = "" ] || fail "pb-expired runs: $(jobs_on 19634)"

# --- second run: changed=0 everywhere, and the output says so
play deploy_jobs deploy-2.log
if grep -E 'changed=[1-9]' "$work/deploy-2.log"; then fail "second deploy changed something"; fi
grep -q 'no changes: every lineup is applied already (3 server(s), 6 job(s) checked)' "$work/deploy-2.log" \
  || fail "second deploy: no 'no changes' summary"

# --- serial batches: one server per batch, still nothing to change
play deploy_jobs deploy-serial.log -e sigma_deploy_serial=1
[ "$(grep -c 'PLAY \[Deploy the job lineups\]' "$work/deploy-serial.log")" -eq 5 ] || fail "serial=1 did not run 5 batches"
if grep -E 'changed=[1-9]' "$work/deploy-serial.log"; then fail "serial deploy changed something"; fi
grep -q 'no changes' "$work/deploy-serial.log" || fail "serial deploy: no 'no changes' summary"

# --- a licence that is not VALID fails fast: nothing changes on any server
before="$(configs_on 19631)$(configs_on 19632)$(configs_on 19633)"
if play deploy_jobs deploy-expired.log \
     -e '{"sigma_lineup": [{"name": "x1", "input": "udp://239.3.9.1:5000", "profiles": [{"id": "0x100"}],
                          "targets": [{"format": "hls", "url": "/data/x1"}]}]}'; then
  fail "deploy with a lineup on the EXPIRED server did not fail"
fi
grep -q 'pb-expired: the licence is EXPIRED, not VALID' "$work/deploy-expired.log" || fail "no licence message"
[ "$(configs_on 19631)$(configs_on 19632)$(configs_on 19633)" = "$before" ] || fail "a job changed although the licence check failed"
[ "$(jobs_on 19634)" = "" ] || fail "pb-expired runs a job"

# --- fleet_report.yml
play fleet_report report.log -e "sigma_report_dir=$work/report"
grep -q "HTML report: $work/report/fleet-report.html" "$work/report.log" || fail "report path not printed"
grep -q 'unreachable: pb-dead' "$work/report.log" || fail "report summary: unreachable"
grep -q 'licence not VALID: pb-expired' "$work/report.log" || fail "report summary: licence"
python - "$work/report/fleet-report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1], encoding='utf-8'))
names = [s['name'] for s in report['servers']]
assert names == ['pb-a10', 'pb-cpu', 'pb-dead', 'pb-expired', 'pb-t4'], names
assert report['summary']['jobs'] == 6, report['summary']
assert report['summary']['unreachable'] == ['pb-dead'], report['summary']
PY
grep -q '<span class="server-name">pb-t4</span>' "$work/report/fleet-report.html" || fail "HTML report misses pb-t4"

# --- drain.yml needs the hosts
if play drain drain-nohosts.log; then fail "drain.yml without sigma_hosts did not fail"; fi
grep -q 'Say which servers to drain' "$work/drain-nohosts.log" || fail "drain.yml without hosts: no message"
[ "$(jobs_on 19631)" = "a1 a2 a3" ] || fail "drain.yml without hosts stopped jobs"

# --- a host pattern that matches no host fails, naming the pattern, in every playbook
for name in drain restore deploy_jobs fleet_report heal_job heal_server; do
  if play "$name" "nomatch-$name.log" -e sigma_hosts=edge7 -e "sigma_report_dir=$work/nomatch-report" -e sigma_heal_job=a1; then
    fail "$name.yml with sigma_hosts=edge7 (no such host) did not fail"
  fi
  grep -q "No host in the inventory matches the host pattern 'edge7': nothing was done" "$work/nomatch-$name.log" \
    || fail "$name.yml with sigma_hosts=edge7: no message naming the pattern"
done
if play restore nomatch-limit.log -e sigma_hosts=pb-cpu --limit pb-t4; then fail "restore.yml outside its --limit did not fail"; fi
grep -q "No host in the inventory matches the host pattern 'pb-cpu' within --limit pb-t4" "$work/nomatch-limit.log" \
  || fail "restore.yml outside its --limit: no message"
[ ! -e "$work/nomatch-report" ] || fail "fleet_report.yml wrote a report for no host"
[ "$(jobs_on 19631)" = "a1 a2 a3" ] || fail "a playbook for no host changed pb-a10"

# --- an AWX workflow drain -> restore, no fact cache: each job in its own
# process with a fresh HOME (no drain file), restore gets only drain's set_stats data.
# a3 is a VOD job that finished: it is stopped, not saved, and not transcoded again.
[ "$(jobs_state 19631 a3)" = finished ] || fail "a3 is $(jobs_state 19631 a3), not finished"
a10_before="$(configs_on 19631 "a1 a2")"; t4_before="$(configs_on 19632)"; cpu_before="$(configs_on 19633)"
awx_run drain wf-drain.log "$work/wf-drain.json" "" -e sigma_hosts=pb-a10:pb-t4
[ "$(jobs_on 19631)" = "" ] || fail "pb-a10 still runs $(jobs_on 19631) after the drain"
[ "$(jobs_on 19632)" = "" ] || fail "pb-t4 still runs $(jobs_on 19632) after the drain"
[ "$(configs_on 19633)" = "$cpu_before" ] || fail "the drain touched pb-cpu"
grep -q 'pb-a10: stopped 3 job(s); saved 2 for restore.yml (a1, a2) as drained at [^ ]*; not saved, not running: a3 (finished); not restorable: none' \
  "$work/wf-drain.log" || fail "drain summary"
json_check "$work/wf-drain.json" "
drained = data['sigma_lineup_drained']
assert sorted(drained) == ['pb-a10', 'pb-t4'], data
assert drained['pb-a10']['jobs'] == ['a1', 'a2'], data
assert sorted(drained['pb-t4']['jobs']) == ['t1', 't2'], data
assert drained['pb-a10']['unrestorable'] == [] and 'restored' not in drained['pb-a10'], data
assert sorted(drained['pb-a10']) == ['drained', 'jobs', 'unrestorable'], data
"
awx_run restore wf-restore.log "$work/wf-restore.json" "" -e sigma_hosts=pb-a10:pb-t4 -e "@$work/wf-drain.json"
[ "$(jobs_on 19631)" = "a1 a2" ] || fail "pb-a10 after restore: $(jobs_on 19631)"
[ "$(configs_on 19631 "a1 a2")" = "$a10_before" ] || fail "pb-a10 after restore: other configurations"
[ "$(configs_on 19632)" = "$t4_before" ] || fail "pb-t4 after restore: $(jobs_on 19632)"
grep -q 'pb-a10: restored 2 job(s) drained at [^ ]* (a1, a2) from the variable sigma_lineup_drained' \
  "$work/wf-restore.log" || fail "restore summary"
json_check "$work/wf-restore.json" "
drained = data['sigma_lineup_drained']
assert sorted(drained) == ['pb-a10', 'pb-t4'], data
assert all('restored' in record for record in drained.values()), data
"
# the same drain data again (a workflow's restore job run again, no fact cache):
# the jobs run already, nothing is started twice
awx_run restore wf-restore-again.log /dev/null "" -e sigma_hosts=pb-a10:pb-t4 -e "@$work/wf-drain.json"
[ "$(grep -cE '^pb-(a10|t4) .*changed=0 .*failed=0' "$work/wf-restore-again.log")" = 2 ] \
  || fail "restoring the same drain again changed something"
# with the restore's own set_stats data (the drain marked restored): nothing to do
awx_run restore wf-restore-done.log /dev/null "" -e sigma_hosts=pb-a10:pb-t4 -e "@$work/wf-restore.json"
grep -q 'pb-t4: nothing to do, the drain of [^ ]* was restored at' "$work/wf-restore-done.log" \
  || fail "a restored drain was not recognized"

# --- a jsonfile fact cache and nothing else kept between the runs
facts="$work/facts"
awx_run drain fc-drain.log "$work/fc-drain.json" "$facts" -e sigma_hosts=pb-t4
[ "$(jobs_on 19632)" = "" ] || fail "pb-t4 still runs $(jobs_on 19632) after the drain"
# a server drained for maintenance is not healed (its restart is the upgrade): the lineup stays off
awx_run heal_server fc-heal-drained.log /dev/null "$facts" -e sigma_hosts=pb-t4
[ "$(jobs_on 19632)" = "" ] || fail "heal_server started $(jobs_on 19632) on a drained server"
grep -q 'pb-t4: drained at [^ ]* and not restored (the fact sigma_lineup_drained): its lineup is not applied' \
  "$work/fc-heal-drained.log" || fail "heal_server on a drained server: no message"
awx_run restore fc-restore-check.log /dev/null "$facts" -e sigma_hosts=pb-t4 --check
[ "$(jobs_on 19632)" = "" ] || fail "restore --check started $(jobs_on 19632)"
grep -q 'pb-t4: would restore 2 job(s) drained at [^ ]* (t1, t2) from the fact sigma_lineup_drained;.*(check mode: nothing was started or marked)' \
  "$work/fc-restore-check.log" || fail "restore --check does not say what it would do"
awx_run restore fc-restore.log /dev/null "$facts" -e sigma_hosts=pb-t4
[ "$(configs_on 19632)" = "$t4_before" ] || fail "pb-t4 after the restore from the fact cache: $(jobs_on 19632)"
grep -q 'pb-t4: restored 2 job(s) drained at [^ ]* (t1, t2) from the fact sigma_lineup_drained' \
  "$work/fc-restore.log" || fail "restore from the fact cache: summary"
# the workflow's drain data again, with the fact cache that knows it was restored
awx_run restore fc-restore-done.log /dev/null "$facts" -e sigma_hosts=pb-t4 -e "@$work/fc-drain.json"
grep -q 'pb-t4: nothing to do, the drain of [^ ]* was restored at' "$work/fc-restore-done.log" \
  || fail "the fact cache's restored mark was not honoured"
grep -q 'changed=0' "$work/fc-restore-done.log" || fail "a restored drain changed something"

# --- precedence: the variable wins over another drain in the fact, which is left as it is
awx_run drain pr-drain.log /dev/null "$facts" -e sigma_hosts=pb-t4
awx_run restore pr-restore.log /dev/null "$facts" -e sigma_hosts=pb-t4 \
  -e '{"sigma_lineup_drained": {"pb-t4": {"jobs": ["t1"], "unrestorable": [], "drained": "2020-01-01T00:00:00Z"}}}'
[ "$(jobs_on 19632)" = "t1" ] || fail "pb-t4 after the restore of the variable's drain: $(jobs_on 19632)"
grep -q "WARNING: pb-t4: restoring the drain of 2020-01-01T00:00:00Z from the variable sigma_lineup_drained, which takes precedence; left as they are, not restored: the fact sigma_lineup_drained holds a drain of [^ ]* (t1, t2)" \
  "$work/pr-restore.log" || fail "no warning about the fact's other drain"
awx_run restore pr-restore-fact.log /dev/null "$facts" -e sigma_hosts=pb-t4
[ "$(configs_on 19632)" = "$t4_before" ] || fail "pb-t4 after the restore of the fact's drain: $(jobs_on 19632)"

# --- check mode: drain --check stops and records nothing (hosts from --limit, as AWX gives them)
awx_run drain ck-drain.log "$work/ck-drain.json" "$work/facts-check" --limit pb-cpu --check
[ "$(configs_on 19633)" = "$cpu_before" ] || fail "drain --check stopped a job"
grep -q 'pb-cpu: would stop 1 job(s); would save 1 for restore.yml (c1); not saved, not running: none; not restorable: none (check mode: nothing was stopped or saved)' \
  "$work/ck-drain.log" || fail "drain --check does not say what it would do"
json_check "$work/ck-drain.json" "assert 'sigma_lineup_drained' not in data, data"
if grep -rqs sigma_lineup_drained "$work/facts-check"; then fail "drain --check recorded a fact"; fi

# the restored jobs match the lineups; a3, which the drain stopped after it finished, is started again
play deploy_jobs deploy-3.log
grep -q '1 job(s) changed on 1 of 3 server(s)' "$work/deploy-3.log" || fail "deploy after the restores: wrong summary"
grep -q 'pb-a10: start a3; 2 unchanged' "$work/deploy-3.log" || fail "deploy after the restores: more than a3 changed"

# --- no secret in any output, report, set_stats data, fact cache or drain file
if grep -rF --exclude-dir=fleet 'cGxheWJvb2tzLXNlY3JldA==' "$work"; then
  fail "the DRM key appears in the output, the report, set_stats data, a fact cache or a drain file"
fi
echo "playbooks: all tests passed"
