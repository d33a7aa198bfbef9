#!/bin/sh
# STAND-IN for the vendor's register.sh, built by the role_server test.
# Checks its options, appends them (one JSON object a line) to
# /var/lib/sigma-media-server-standin/register.log, keeps the server name and
# tells the running stand-in server that its licence is now VALID. Unlike (we
# assume) the real script, it does not create /etc/sigma-machine/registered:
# the role must write that marker itself.
set -e
NAME='' ORIGIN='' INGEST='' TOKEN='' DATA=''
while [ $# -gt 0 ]; do
    case "$1" in
        --server-name) NAME="$2"; shift 2 ;;
        --enable-origin) ORIGIN="$2"; shift 2 ;;
        --enable-ingest) INGEST="$2"; shift 2 ;;
        --server-token) TOKEN="$2"; shift 2 ;;
        --server-data-dir) DATA="$2"; shift 2 ;;
        *) echo "register.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in NAME ORIGIN INGEST TOKEN DATA; do
    eval "[ -n \"\$$v\" ]" || { echo "register.sh: missing value for $v" >&2; exit 2; }
done
[ "$TOKEN" != "bad-token" ] || { echo "register.sh: the server rejected token $TOKEN" >&2; exit 3; }
mkdir -p /var/lib/sigma-media-server-standin "$DATA"
/usr/bin/python3 - "$NAME" "$ORIGIN" "$INGEST" "$TOKEN" "$DATA" <<'PY'
import json, sys, urllib.request
name, origin, ingest, token, data = sys.argv[1:]
with open("/var/lib/sigma-media-server-standin/register.log", "a") as fh:
    fh.write(json.dumps({"server_name": name, "enable_origin": origin, "enable_ingest": ingest,
                         "server_token": token, "server_data_dir": data}) + "\n")
with open("/etc/sigma-machine/server-name", "w") as fh:
    fh.write(name + "\n")
port = "9999"
try:
    with open("/etc/default/sigma-media-server") as fh:
        for line in fh:
            if line.startswith("SIGMA_PORT="):
                port = line.split("=", 1)[1].strip().strip('"')
except OSError:
    pass
req = urllib.request.Request(f"http://127.0.0.1:{port}/_emulator/servers/{port}/config", method="PATCH",
                             data=json.dumps({"license_status": "VALID"}).encode(),
                             headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=5).read()
except OSError as exc:
    print(f"register.sh: could not reach the server on port {port}: {exc}", file=sys.stderr)
PY
echo "registered $NAME"
