"""The control path under /_emulator/ and the request log."""

import json

import requests

from test_api import LIVE


def test_state(emu):
    emu.call(dict(LIVE, _id="x"))
    state = emu.control("GET", "state")
    assert state["name"] == "sigma-server-01" and state["port"] == emu.servers[0].port
    assert state["jobs"]["vtv3"]["state"] == "started" and state["jobs"]["vtv3"]["config"]["_id"] == "x"
    assert state["faults"] == {} and state["start"].endswith("Z")


def test_requests_log_and_clear(emu, tmp_path):
    emu.call(LIVE)
    requests.get(emu.url(), timeout=5)
    requests.post(emu.url(), data="{oops", timeout=5)
    emu.control("GET", "state")
    log = emu.control("GET", "requests")["requests"]
    assert [(r["method"], r["function"], r["name"], r["status"], r["ec"]) for r in log] == [
        ("POST", "start", "vtv3", 200, 0), ("GET", "dump", None, 200, 0), ("POST", None, None, 200, 1)]
    assert log[0]["body"] == LIVE and log[2]["body"] == "{oops" and log[0]["server"] == "sigma-server-01"
    assert set(log[0]) == {"time", "server", "port", "method", "function", "name", "body", "status",
                           "ec", "fault"}
    emu.control("DELETE", "requests")
    assert emu.control("GET", "requests")["requests"] == []


def test_request_log_file(start_emulator):
    emu = start_emulator({}, {})
    path = emu.fleet.log.path
    emu.call(LIVE)
    emu.call({"type": "progress", "name": "*"}, i=1)
    emu.control("GET", "state")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["port"], r["function"]) for r in lines] == [
        (emu.servers[0].port, "start"), (emu.servers[1].port, "progress")]


def test_faults_put_merges_delete_clears(emu):
    emu.control("PUT", "faults", json={"http500": {"count": 2}})
    emu.control("PUT", "faults", json={"latency_ms": 1, "ec_rate": 0.0})
    assert set(emu.control("GET", "state")["faults"]) == {"http500", "latency_ms", "ec_rate"}
    emu.control("DELETE", "faults")
    assert emu.control("GET", "state")["faults"] == {}


def test_restart_and_reset(emu):
    emu.call(LIVE)
    start = emu.call({"type": "dump"})["start"]
    emu.control("POST", "restart")
    assert emu.call({"type": "progress", "name": "*"})["total"] == 0
    assert emu.call({"type": "dump"})["start"] >= start
    emu.call(LIVE)
    emu.control("PATCH", "config", json={"license_status": "EXPIRED", "version": "3.1.0"})
    emu.control("PUT", "faults", json={"ec_rate": 1})
    emu.control("POST", "reset")
    dump = emu.call({"type": "dump"})
    assert dump["licenseStatus"] == "VALID" and dump["version"] == "3.0.12" and dump["total"] == 0
    assert emu.control("GET", "state")["faults"] == {}
    assert len(emu.control("GET", "requests")["requests"]) == 1


def test_patch_config(emu):
    emu.control("PATCH", "config", json={
        "gpus": [{"model": "Tesla T4", "count": 2}], "spelling": "english", "ignore_id": True,
        "broken_inputs": ["udp://gone"], "vod_duration": 1, "license_status": "INVALID"})
    dump = emu.call({"type": "dump"})
    assert dump["licenseStatus"] == "INVALID" and len(dump["System"]["gpu"]) == 2
    for bad in ({"port": 1}, {"gpus": [{"model": "Voodoo 2"}]}, {"spelling": "klingon"}):
        reply = requests.patch(emu.ctl(0, "config"), json=bad, timeout=5)
        assert reply.status_code == 400, bad


def test_one_control_surface(start_emulator):
    emu = start_emulator({"name": "a"}, {"name": "b"})
    other = emu.servers[1].port
    control = emu.fleet.control_url
    listing = requests.get(f"{control}/_emulator/servers", timeout=5).json()["servers"]
    assert [s["name"] for s in listing] == ["a", "b"]
    # a server by port or by name, on the control port or on any server's port
    for base in (control, emu.url(0, ""), emu.url(1, "")):
        for key in (other, "b"):
            assert requests.get(f"{base}/_emulator/servers/{key}/state", timeout=5).json()["name"] == "b"
    requests.put(f"{control}/_emulator/servers/{other}/faults", json={"refuse": True}, timeout=5)
    assert requests.get(f"{control}/_emulator/servers/b/state", timeout=5).json()["listening"] is False
    assert requests.post(f"{control}/_emulator/servers/{other}/up", timeout=5).json() == {"ok": True}
    assert emu.call({"type": "dump"}, i=1)["name"] == "b"
    assert requests.get(f"{control}/", timeout=5).status_code == 404
    for path in ("/_emulator/state", "/_emulator/servers/1/state", "/_emulator/servers/zz/state",
                 "/_emulator/servers/a/explode"):
        assert requests.get(emu.url(0, path), timeout=5).status_code == 404, path
        assert requests.get(control + path, timeout=5).status_code == 404, path


def test_down_server_comes_up_and_dead_ports(start_emulator):
    emu = start_emulator({"name": "up"}, {"name": "down", "down": True}, dead_ports=2)
    port = emu.servers[1].port
    dead = emu.fleet.dead_ports
    assert len(set(dead) | {port, emu.servers[0].port}) == 4
    for url in (emu.url(1), emu.fleet.dead_url, f"http://127.0.0.1:{dead[1]}"):
        try:
            requests.get(url, timeout=2)
            raise AssertionError(f"{url} answered")
        except requests.ConnectionError:
            pass
    emu.control("POST", "up", i=1)
    assert emu.call({"type": "dump"}, i=1)["port"] == port


def test_non_api_paths(emu):
    assert requests.get(emu.url(0, "/other"), timeout=5).status_code == 404
    assert requests.delete(emu.url(), timeout=5).status_code == 405
