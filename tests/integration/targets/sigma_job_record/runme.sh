#!/usr/bin/env bash
# Issue 18, "Done when": with a jsonfile fact cache and NOTHING else kept between runs (each run a new
# ansible-playbook process with a fresh HOME and a fresh SIGMA_STATE_DIR), for a server that echoes _id and one
# that does not:
#   create -> change a live setting -> the same again is changed=0 with exactly one progress request;
#   set it back -> the update is sent; a restart-worthy change -> --check --diff names the field with its old and
#   new value, secrets masked; without any record -> never a false ok, and the warning names the fix.
set -eux -o pipefail

root="$(pwd)"
while [ "$root" != / ] && [ ! -f "$root/scripts/fleet.sh" ]; do root="$(dirname "$root")"; done
[ -f "$root/scripts/fleet.sh" ] || { echo "scripts/fleet.sh not found above $(pwd)" >&2; exit 1; }

work="${OUTPUT_DIR:-$(mktemp -d)}/sigma_job_record"
. "$root/scripts/target-fleet.sh" "$root" "$work" 0 "$(pwd)/files/fleet.yml"
# one inventory host per server (the record is kept in that host's facts; the task runs delegate_to: localhost),
# at the ephemeral port the server got: the steps integration and integration-remote may run at the same time
python - "$work/fleet/integration_config.yml" > "$work/inventory.json" <<'PY'
import json, sys, yaml
servers = yaml.safe_load(open(sys.argv[1]))['sigma_emulator']['servers']
print(json.dumps({'all': {'hosts': dict((h, {'sigma_api_url': servers[h]}) for h in ('rec-echo', 'rec-noid'))}}))
PY

export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION="$work/facts" ANSIBLE_CACHE_PLUGIN_TIMEOUT=0
# the remote-path run passes -e ansible_connection=sigma_remote (ansible-test's extra vars, "$@")
ANSIBLE_CONNECTION_PLUGINS="$(cd ../setup_sigma_remote/connection_plugins && pwd)"
export ANSIBLE_CONNECTION_PLUGINS
extra=("$@")
SECRETS=(c2VjcmV0LWRybS1rZXktMDE= a2V5LWlkLTAxLXNlY3JldA== Rec0rd-Pa55 TjNXLWRyLWtleQ==)

fail() { echo "FAILED: $*" >&2; exit 1; }
n=0
run() {  # NAME [ARGS...]: one run on a fresh runner: new process, fresh HOME and SIGMA_STATE_DIR; nothing else kept
  local name="$1"; shift
  n=$((n + 1))
  mkdir -p "$work/run$n/home" "$work/run$n/state" "$work/run$n/out"
  python "$work/emu.py" clear
  HOME="$work/run$n/home" SIGMA_STATE_DIR="$work/run$n/state" \
    ansible-playbook -i "$work/inventory.json" files/channel.yml -e "out_dir=$work/run$n/out" "${extra[@]}" "$@" 2>&1 \
    | tee "$work/run$n/$name.log"
  python "$work/emu.py" requests > "$work/run$n/requests.json"
  last="$work/run$n"
}
check() {  # PYTHON-EXPRESSION over `r` (host -> registered result), `req` (host -> functions sent), `log` (output)
  python - "$last" "$1" <<'PY'
import json, os, sys
run, expr = sys.argv[1], sys.argv[2]
r = dict((f[:-5], json.load(open(os.path.join(run, 'out', f)))) for f in os.listdir(os.path.join(run, 'out')))
req = json.load(open(os.path.join(run, 'requests.json')))
log = open([os.path.join(run, f) for f in os.listdir(run) if f.endswith('.log')][0]).read()
ok = eval(expr)
if not ok:
    print('check failed: %s\nresults: %s\nrequests: %s' % (expr, json.dumps(r, indent=1)[:6000], req), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
cat > "$work/emu.py" <<'PY'
import json, sys, urllib.request, yaml
conf = yaml.safe_load(open(sys.argv[0].rsplit('/', 1)[0] + '/fleet/integration_config.yml'))['sigma_emulator']
hosts = {'rec-echo': 'rec-echo', 'rec-noid': 'rec-noid'}
out = {}
for host, server in hosts.items():
    url = conf['control'][server] + '/requests'
    if sys.argv[1] == 'clear':
        urllib.request.urlopen(urllib.request.Request(url, method='DELETE'), timeout=10).read()
    else:
        out[host] = [r['function'] for r in json.load(urllib.request.urlopen(url, timeout=10))['requests']]
if sys.argv[1] != 'clear':
    print(json.dumps(out))
PY
both="all(h in r for h in ('rec-echo', 'rec-noid'))"

# 1. create
run create
check "$both and all(r[h]['action'] == 'start' and r[h]['changed'] for h in r)"

# 2. change a live setting (hide the logo): an update, no restart, no warning (the record knows what runs)
run hide -e logo=false
check "all(r[h]['action'] == 'update' and not r[h].get('warnings') for h in r)"
check "all(req[h] == ['progress', 'progress', 'update', 'update', 'update', 'update', 'progress'] for h in req)"

# 3. the same again: changed=0 with exactly one progress request per server
run same -e logo=false
check "all(not r[h]['changed'] and r[h]['action'] == 'none' for h in r) and all(req[h] == ['progress'] for h in req)"
grep -qE 'rec-echo +: ok=2 +changed=0 ' "$last/same.log" || fail "the same again is not changed=0"
grep -qE 'rec-noid +: ok=2 +changed=0 ' "$last/same.log" || fail "the same again is not changed=0 (no _id)"

# 4. set it back: the update is sent (the record says the logo is hidden now)
run back
check "all(r[h]['action'] == 'update' and r[h]['changed'] for h in r)"
check "all(req[h].count('update') == 4 and 'start' not in req[h] for h in req)"

# 5. a restart-worthy change (width) and a new DRM key, in check mode with diff: the fields, old and new, masked
run diff -e width=1920 -e drm_key=TjNXLWRyLWtleQ== --check --diff
check "all(r[h]['action'] == 'restart' and r[h]['reasons'] == ['settings progress does not report: profile[0].width, target[0].drm.key'] for h in r)"
check "all(r[h]['diff']['before']['config']['profile'][0]['width'] == 1280 and r[h]['diff']['after']['config']['profile'][0]['width'] == 1920 for h in r)"
check "all(r[h]['diff']['before']['config']['target'][0]['drm']['key'].startswith('********:') for h in r)"
check "all(r[h]['diff']['before']['config']['target'][0]['drm']['key'] != r[h]['diff']['after']['config']['target'][0]['drm']['key'] for h in r)"
check "all('start' not in req[h] and 'update' not in req[h] for h in req)"
grep -qE '^-.*"width": 1280' "$last/diff.log" || fail "the diff output does not show the old width"
grep -qE '^\+.*"width": 1920' "$last/diff.log" || fail "the diff output does not show the new width"

# 6. without any record (the fact cache is gone too): never a false ok, and the warning names the fix
rm -rf "$work/facts"
run fresh
check "all(r[h]['changed'] and r[h]['action'] == 'update' for h in r)"
grep -q 'fact storage' "$last/fresh.log" || fail "no warning naming the fix"
grep -q 'are not known, so they were sent again with update' "$last/fresh.log" || fail "no warning about the live settings"

# secrets: in no output, no result, no fact cache file
for secret in "${SECRETS[@]}"; do
  if grep -rqF -- "$secret" "$work"/run* "$work/facts"; then fail "a secret is in the output, a result or the fact cache"; fi
done
# the record is stored on each server's inventory host, not on the delegate (jsonfile names files HOST or s1_HOST)
for host in rec-echo rec-noid; do
  cat "$work/facts/"*"$host" | grep -q sigma_job_record || fail "the record is not in the fact cache of $host"
done
if cat "$work/facts/"*localhost 2>/dev/null | grep -q sigma_job_record; then fail "the record went to localhost"; fi
