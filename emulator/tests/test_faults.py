"""Faults, authentication and TLS."""

import time

import pytest
import requests

from test_api import LIVE


def put_faults(emu, faults, i=0):
    emu.control("PUT", "faults", i, json=faults)


def test_latency_and_jitter(start_emulator):
    emu = start_emulator({"latency_ms": 200}, {"faults": {"latency_ms": 100, "jitter_ms": 50}})
    t0 = time.monotonic()
    assert emu.call({"type": "dump"})["dt"] >= 200
    assert time.monotonic() - t0 >= 0.2
    t0 = time.monotonic()
    emu.call({"type": "progress", "name": "*"}, i=1)
    assert 0.05 <= time.monotonic() - t0 < 0.5
    t0 = time.monotonic()
    requests.get(emu.ctl(0, "state"), timeout=5)
    assert time.monotonic() - t0 < 0.15  # the control path is never delayed


def test_ec_rate_is_deterministic(emu):
    runs = []
    for _ in range(2):  # reset re-seeds the server's RNG from its name and port
        emu.control("POST", "reset")
        put_faults(emu, {"ec_rate": {"rate": 0.5, "functions": ["dump"]}})
        runs.append([emu.call({"type": "dump"})["ec"] for _ in range(40)])
    assert runs[0] == runs[1] and 0 in runs[0] and 9 in runs[0]
    assert emu.call({"type": "progress", "name": "*"})["ec"] == 0
    log = emu.control("GET", "requests")["requests"]
    assert [r["fault"] == "ec_rate" for r in log[:40]] == [ec == 9 for ec in runs[1]]


def test_http500_html502_limited_by_function_and_count(emu):
    put_faults(emu, {"http500": {"functions": ["start"], "count": 1},
                     "html502": {"functions": ["progress"]}})
    assert emu.call({"type": "dump"})["ec"] == 0
    reply = requests.post(emu.url(), json=LIVE, timeout=5)
    assert reply.status_code == 500
    assert emu.call(LIVE)["ec"] == 0  # count exhausted
    for _ in range(2):
        reply = requests.post(emu.url(), json={"type": "progress", "name": "*"}, timeout=5)
        assert reply.status_code == 502 and "text/html" in reply.headers["Content-Type"]
        assert "<title>502 Bad Gateway</title>" in reply.text
    assert set(emu.control("GET", "state")["faults"]) == {"html502"}


def test_reset(emu):
    put_faults(emu, {"reset": {"count": 1}})
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url(), timeout=5)
    assert emu.call({"type": "dump"})["ec"] == 0
    assert emu.control("GET", "requests")["requests"][0]["fault"] == "reset"


def test_hang_until_client_leaves(emu):
    put_faults(emu, {"hang": {"functions": ["dump"]}})
    with pytest.raises(requests.Timeout):
        requests.get(emu.url(), timeout=0.3)
    assert emu.call(LIVE)["ec"] == 0
    # the hung request is logged when the server notices the client left
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        logged = [r for r in emu.control("GET", "requests")["requests"] if r["function"] == "dump"]
        if logged:
            break
        time.sleep(0.05)
    assert logged and logged[0]["fault"] == "hang"


def test_refuse_with_duration(start_emulator):
    emu = start_emulator({}, {})
    put_faults(emu, {"refuse": {"duration": 0.5}})
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url(), timeout=2)
    state = emu.control("GET", "state")
    assert state["listening"] is False and "refuse" in state["faults"]
    time.sleep(0.7)
    assert emu.call({"type": "dump"})["ec"] == 0


def test_refuse_until_up(start_emulator):
    emu = start_emulator({}, {})
    emu.control("PUT", "faults", json={"refuse": True})
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url(), timeout=2)
    emu.control("POST", "up")
    assert emu.call({"type": "dump"})["ec"] == 0
    emu.control("PUT", "faults", json={"refuse": True, "http500": True})
    emu.control("PUT", "faults", json={"refuse": False})
    assert requests.get(emu.url(), timeout=2).status_code == 500


def test_restart_fault(emu):
    emu.call(LIVE)
    start = emu.call({"type": "dump"})["start"]
    time.sleep(0.01)
    put_faults(emu, {"restart": {"functions": ["progress"], "count": 1}})
    assert emu.call({"type": "progress", "name": "*"})["total"] == 0
    assert emu.call({"type": "dump"})["start"] > start


def test_restart_fault_with_down_seconds(emu):
    emu.call(LIVE)
    put_faults(emu, {"restart": {"count": 1, "down_seconds": 2}})
    with pytest.raises(requests.ConnectionError):
        requests.post(emu.url(), json={"type": "progress", "name": "*"}, timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url(), timeout=2)
    time.sleep(2.2)
    assert emu.call({"type": "progress", "name": "*"})["total"] == 0


def test_bad_fault_is_refused(emu):
    reply = requests.put(emu.ctl(0, "faults"), json={"explode": True}, timeout=5)
    assert reply.status_code == 400 and "unknown fault" in reply.json()["error"]


def test_basic_auth_and_token(start_emulator):
    emu = start_emulator({"auth": {"username": "ops", "password": "s3cret"}},
                         {"token": {"header": "X-Api-Key", "value": "t0k"}})
    for i, good in ((0, {"auth": ("ops", "s3cret")}), (1, {"headers": {"X-Api-Key": "t0k"}})):
        for bad in ({}, {"auth": ("ops", "wrong")}, {"headers": {"X-Api-Key": "nope"}}):
            reply = requests.get(emu.url(i), timeout=5, **bad)
            assert reply.status_code == 401 and reply.text.startswith("<html>")
        assert requests.get(emu.url(i), timeout=5, **good).json()["ec"] == 0
        assert requests.get(emu.url(i, "/_emulator/servers/" + str(emu.servers[i].port) + "/state"),
                            timeout=5).status_code == 200  # the control API needs no credentials
    assert "Basic" in requests.get(emu.url(0), timeout=5).headers["WWW-Authenticate"]
    assert [r["status"] for r in emu.control("GET", "requests")["requests"]] == [401, 401, 401, 200, 401]


def test_tls_with_written_ca(start_emulator):
    emu = start_emulator({"tls": True}, {})
    certs = emu.fleet.workdir / "certs"
    assert emu.url(0).startswith("https://") and emu.url(1).startswith("http://")
    assert {p.name for p in certs.iterdir()} == {"ca.pem", "cert.pem", "key.pem"}
    ca = str(certs / "ca.pem")
    assert requests.get(emu.url(0), verify=ca, timeout=5).json()["ec"] == 0
    localhost = emu.url(0).replace("127.0.0.1", "localhost")
    assert requests.post(localhost, json={"type": "dump"}, verify=ca, timeout=5).json()["ec"] == 0
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.url(0), timeout=5)
    assert emu.emulator.ready_info()["ca"] == ca
