"""The command line, run as a subprocess: ready file, pid file, request log, TLS, auth, SIGTERM."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(tmp_path, *args):
    """Start ``python -m sigma_emulator`` and wait for its ready file; return (process, info)."""
    ready = tmp_path / "ready.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "sigma_emulator", "--ready-file", str(ready), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "emulator not ready"
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())


def terminate(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return out


def test_single_seed_server(tmp_path):
    port, log, pid = free_port(), tmp_path / "requests.jsonl", tmp_path / "pid"
    proc, info = launch(tmp_path, "--port", str(port), "--request-log", str(log), "--pid-file", str(pid))
    assert info["servers"] == [{"name": "sigma-server-01", "port": port,
                                "url": f"http://127.0.0.1:{port}/", "listening": True}]
    assert int(pid.read_text()) == proc.pid
    dump = requests.get(info["servers"][0]["url"], timeout=5).json()
    assert (dump["name"], dump["port"], dump["licenseStatus"]) == ("sigma-server-01", port, "VALID")
    assert [g["name"] for g in dump["system"]["gpu"]] == ["NVIDIA A10"]
    requests.post(info["servers"][0]["url"], json={"type": "stop", "name": "x"}, timeout=5)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["function"], e["name"]) for e in entries] == [("GET", "dump", None),
                                                                          ("POST", "stop", "x")]
    out = terminate(proc)
    assert "sigma-server-01" in out and out.splitlines()[-1] == "ready"
    assert not pid.exists() and not (tmp_path / "ready.json").exists()


def test_generated_fleet(tmp_path):
    proc, info = launch(tmp_path, "--count", "12", "--base-port", "0", "--seed", "3", "--quiet",
                        "--vod-duration", "1", "--latency", "1", "--starting-seconds", "30",
                        "--preparing-seconds", "0")
    try:
        names = [requests.get(s["url"], timeout=5).json()["name"] for s in info["servers"]]
        assert names == [f"sigma-{i:02d}" for i in range(1, 13)]
        url = info["servers"][0]["url"]
        requests.post(url, json={"type": "start", "name": "a", "mode": "live", "input": "udp://x"}, timeout=5)
        job = requests.post(url, json={"type": "progress"}, timeout=5).json()["result"]["a"]
        assert job["state"] == "starting"
    finally:
        out = terminate(proc)
    assert out.splitlines() == ["sigma-emulator: 12 server(s)", "ready"]


def test_fleet_file_with_tls_and_auth(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("servers:\n  - {name: secure, port: 0, gpus: []}\n"
                     "  - {name: token, port: 0, tls: false, token: {header: X-Key, value: k}}\n")
    certs = tmp_path / "certs"
    proc, info = launch(tmp_path, "--fleet", str(fleet), "--tls", "--cert-dir", str(certs),
                        "--username", "u", "--password", "p", "--control-port", "0")
    try:
        secure = info["servers"][0]["url"]
        assert secure.startswith("https://") and info["ca"] == f"{certs}/ca.pem"
        assert requests.get(secure, verify=info["ca"], timeout=5).status_code == 401
        dump = requests.get(secure, verify=info["ca"], auth=("u", "p"), timeout=5).json()
        assert dump["name"] == "secure" and dump["supported"] == []
        state = requests.get(f"http://127.0.0.1:{info['control_port']}/_emulator/servers/"
                             f"{info['servers'][1]['port']}/state", timeout=5).json()
        assert state["name"] == "token"
    finally:
        terminate(proc)


def test_bad_fleet_fails_cleanly(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("servers:\n  - {name: x, port: 0, gpus: [{model: Voodoo}]}\n")
    result = subprocess.run([sys.executable, "-m", "sigma_emulator", "--fleet", str(fleet)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                            text=True, timeout=20)
    assert result.returncode != 0 and "Voodoo" in result.stderr
