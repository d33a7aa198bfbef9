"""The launcher (sigma_emulator.testing): subprocess, detached command line, Ansible variables."""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import yaml

from sigma_emulator import testing
from test_api import LIVE
from test_cli import ROOT


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def refused(url):
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_subprocess_fleet(tmp_path):
    with testing.start([{"name": "a", "starting_seconds": 0, "preparing_seconds": 0}, {"name": "b", "tls": True, "auth": {"username": "u", "password": "p"}}],
                       workdir=tmp_path, args=["--latency", "1"]) as fleet:
        pid = int((tmp_path / "pid").read_text())
        assert fleet.names == ["a", "b"] and fleet.url("b").startswith("https://")
        assert fleet.port("a") != fleet.port("b") and fleet.server(1)["name"] == "b"
        mark = fleet.log.mark()
        assert fleet.api("a", LIVE)["ec"] == 0
        assert fleet.api("b", {"type": "dump"}, headers={"Authorization": "Basic dTpw"})["name"] == "b"
        assert [(e["server"], e["function"]) for e in fleet.log.since(mark)] == [("a", "start"), ("b", "dump")]
        fleet.job_fault("a", "vtv3", "OUTPUT_TIMEOUT")
        assert fleet.jobs("a")["vtv3"]["state"] == "error"
        fleet.clear_job_fault("a", "vtv3")
        fleet.faults("a", http500={"count": 1})
        assert fleet.state("a")["faults"] == {"http500": {"count": 1}}
        fleet.config("a", license_status="EXPIRED")
        with pytest.raises(urllib.error.HTTPError, match="500"):
            fleet.api("a", {"type": "dump"})
        assert fleet.api("a", {"type": "dump"})["licenseStatus"] == "EXPIRED"
        assert [r["function"] for r in fleet.requests("a")] == ["start", "dump", "dump"]
        refused(fleet.dead_url)
        with pytest.raises(testing.EmulatorError, match="HTTP 404"):
            fleet.control("a", "GET", "nothing")
        vars_ = fleet.ansible_vars()["sigma_emulator"]
        assert vars_["servers"] == {"a": fleet.url("a"), "b": fleet.url("b")}
        assert vars_["control"]["b"] == f"{fleet.control_url}/_emulator/servers/{fleet.port('b')}"
        assert vars_["auth"] == {"b": {"username": "u", "password": "p"}} and vars_["ca_path"] == fleet.ca
    assert not alive(pid)


def test_start_failure_is_reported(tmp_path):
    with pytest.raises(testing.EmulatorError, match="Voodoo"):
        testing.start([{"gpus": [{"model": "Voodoo"}]}], workdir=tmp_path)


def test_command_line_detached(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fixed = sock.getsockname()[1]
    fleet_file = tmp_path / "fleet.in.yml"
    fleet_file.write_text(yaml.safe_dump({"defaults": {"vod_duration": 2},
                                          "servers": [{"name": "x", "port": fixed}, {"name": "y", "port": 1}]}))
    state, out = tmp_path / "state", tmp_path / "vars" / "config.yml"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "sigma_emulator.testing"]
    result = subprocess.run(cmd + ["start", str(state), "--fleet", str(fleet_file), "--config", str(out),
                                   "--ephemeral-ports"],
                            env=env, capture_output=True, text=True, timeout=60, check=True)
    try:
        fleet = testing.attach(state)
        assert fleet.port("x") != fixed and fleet.port("y") != 1  # --ephemeral-ports
        assert f"x {fleet.server('x')['url']}" in result.stdout
        config = yaml.safe_load(out.read_text())["sigma_emulator"]
        assert set(config["servers"]) == {"x", "y"} and config["dead_url"] == fleet.dead_url
        assert fleet.api("x", {"type": "dump"})["name"] == "x"
        pid = int((state / "pid").read_text())
    finally:
        subprocess.run(cmd + ["stop", str(state)], env=env, check=True, timeout=60, capture_output=True)
    assert not alive(pid) and not (state / "pid").exists()
    fleet_file.write_text(yaml.safe_dump({"servers": [{"name": "x", "port": fixed}, {"name": "z"}]}))
    subprocess.run(cmd + ["start", str(state), "--fleet", str(fleet_file)],
                   env=env, check=True, timeout=60, capture_output=True)
    try:
        assert testing.attach(state).url("x") == f"http://127.0.0.1:{fixed}"  # the port the file names
        ready = json.loads((state / "ready.json").read_text())
        assert ready["servers"][0]["port"] == fixed and ready["servers"][1]["port"] not in (0, fixed)
    finally:
        subprocess.run(cmd + ["stop", str(state)], env=env, check=True, timeout=60, capture_output=True)
