"""Job states, error lines and codes, run-time job faults (the contract's "Job states and errors")."""

import datetime
import re
import time

import pytest
import requests

from sigma_emulator import errors
from test_api import LIVE

LINE = re.compile(r"^\[(\d\d-\d\d \d\d:\d\d:\d\d)\] (.+) \(code: ([A-Z0-9_]+)\)$")
PHASES = {"starting_seconds": 0.2, "preparing_seconds": 0.3}


@pytest.fixture
def clock(monkeypatch):
    """time.time() of the test and of the emulator (same process), moved by hand."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def progress(emu, name="vtv3", i=0):
    return emu.call({"type": "progress", "name": name}, i=i)["result"][name]


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%m-%d %H:%M:%S")


def parse(line):
    match = LINE.match(line)
    assert match, line
    return match.groups()


def test_documented_codes():
    once = {"STREAM_NOT_FOUND", "NO_AUDIO_DATA", "NO_VIDEO_DATA", "INITIALIZING_OUTPUT_STREAM",
            "NO_ROUTE_TO_HOST", "OPTION_NOTFOUND", "PROTOCOL_NOTFOUND", "INVALID_ARGUMENT"}
    assert errors.CREATION_ONLY == once and len(errors.CODES) == 40
    assert {c for c, (what, _o, _m) in errors.CODES.items() if what == "C"} == {
        "FEATURE_NOT_ENABLED", "CANT_START_OVERLAY", "OPTION_NOTFOUND", "PROTOCOL_NOTFOUND", "INVALID_ARGUMENT"}
    assert errors.line(0, "Boom", "X_Y") == "[01-01 00:00:00] Boom (code: X_Y)"
    assert errors.message("NEW_CODE") == "Unknown error"
    for bad in ("lower", "", None, "A B"):
        with pytest.raises(ValueError):
            errors.check_code(bad)


def test_starting_preparing_started(start_emulator, clock):
    emu = start_emulator(PHASES)
    t0 = clock[0]
    emu.call(LIVE)
    emu.call(dict(LIVE, name="film", mode="vod"))
    job = progress(emu)
    assert job["state"] == "starting" and job["speed"] == 0 and job["pts"] == "0h00m00s"
    assert all(i["bitrate"] == 0 for i in job["input"]) and all(p["bitrate"] == 0 for p in job["profile"])
    assert emu.call({"type": "dump"})["task"] == {"starting": 2}
    clock[0] = t0 + 0.25
    assert progress(emu)["state"] == "preparing"
    clock[0] = t0 + 0.5
    job = progress(emu)
    assert job["state"] == "started" and job["speed"] == 1 and job["profile"][0]["bitrate"] == 3000
    assert emu.control("GET", "state")["jobs"]["vtv3"]["state"] == "started"
    clock[0] = t0 + 0.5 + 9.9  # a VOD job runs vod_duration (10 s) once started
    assert progress(emu, "film")["state"] == "started"
    clock[0] = t0 + 0.5 + 10
    assert progress(emu, "film")["state"] == "finished"
    emu.call(LIVE)  # started again: through the phases again
    assert progress(emu)["state"] == "starting"


def test_phases_are_configurable_at_run_time(start_emulator, clock):
    emu = start_emulator({})  # the fixture's servers start jobs at once
    emu.call(LIVE)
    assert progress(emu)["state"] == "started"
    emu.control("PATCH", "config", json={"starting_seconds": 2, "preparing_seconds": 0})
    emu.call(LIVE)
    clock[0] += 1.9
    assert progress(emu)["state"] == "starting"
    clock[0] += 0.1
    assert progress(emu)["state"] == "started"
    reply = requests.patch(emu.ctl(0, "config"), json={"preparing_seconds": -1}, timeout=5)
    assert reply.status_code == 400 and "preparing_seconds" in reply.text


def test_transient_input_error_in_utc_and_recovery(start_emulator, clock):
    emu = start_emulator(dict(PHASES, timezone="Asia/Ho_Chi_Minh", broken_inputs=["udp://239.1.1.1:*"]))
    t0 = clock[0]
    emu.call(LIVE)
    assert progress(emu)["state"] == "starting" and progress(emu)["error"] == []
    clock[0] = t0 + 0.5
    job = progress(emu)
    assert job["state"] == "error" and job["speed"] == 0 and job["input"][0]["profile"] == []
    (when, text, code), = [parse(line) for line in job["error"]]
    assert (when, code) == (utc(t0 + 0.5), "INPUT_TIMEOUT") and LIVE["input"] in text
    clock[0] = t0 + 60
    assert progress(emu)["error"] == job["error"]  # one line per episode, not per poll
    emu.control("PATCH", "config", json={"broken_inputs": []})  # the input comes back
    job = progress(emu)
    assert job["state"] == "started" and job["error"] == [job["error"][0]]
    clock[0] = t0 + 120
    emu.control("PATCH", "config", json={"broken_inputs": [{"url": LIVE["input"], "code": "CONNECTION_REFUSED"}]})
    job = progress(emu)
    assert job["state"] == "error" and [parse(x)[::2] for x in job["error"]] == [
        (utc(t0 + 0.5), "INPUT_TIMEOUT"), (utc(t0 + 120), "CONNECTION_REFUSED")]
    assert emu.call({"type": "dump"})["task"] == {"error": 1}
    info = emu.call({"type": "info", "input": LIVE["input"]})
    assert info["ec"] == 7 and "Connection refused" in info["msg"]


def test_creation_only_error_stays_until_started_again(start_emulator, clock):
    emu = start_emulator(dict(PHASES, broken_inputs=[{"url": "udp://gone*", "code": "STREAM_NOT_FOUND"}]))
    t0 = clock[0]
    emu.call(dict(LIVE, input="udp://gone-1"))
    assert progress(emu)["state"] == "starting"
    clock[0] = t0 + 0.5
    job = progress(emu)
    assert job["state"] == "error"
    assert [parse(x) for x in job["error"]] == [(utc(t0 + 0.5), "Stream not found: udp://gone-1", "STREAM_NOT_FOUND")]
    emu.control("PATCH", "config", json={"broken_inputs": []})  # the stream is back: no retry recovers it
    clock[0] = t0 + 30
    assert progress(emu)["state"] == "error" and len(progress(emu)["error"]) == 1
    emu.call(dict(LIVE, input="udp://gone-1"))  # started again
    clock[0] = t0 + 31
    job = progress(emu)
    assert job["state"] == "started" and job["error"] == []


def test_failover_pair_errors_only_when_both_fail(start_emulator):
    emu = start_emulator({"broken_inputs": [{"url": "udp://main", "code": "NO_VIDEO_DATA"}]})
    emu.call(dict(LIVE, input={"main": "udp://main", "backup": "udp://backup"}))
    job = progress(emu)
    assert job["state"] == "started" and [parse(x)[2] for x in job["error"]] == ["NO_VIDEO_DATA"]
    assert [i["url"] for i in job["input"]] == ["udp://main", "udp://backup"]


def test_progress_active_input_only(start_emulator):
    emu = start_emulator({"progress_inputs": "active"}, {"progress_inputs": "active", "broken_inputs": ["udp://main"]})
    pair = dict(LIVE, input={"main": "udp://main", "backup": "udp://backup"})
    for i in (0, 1):
        emu.call(pair, i=i)
    assert [x["url"] for x in progress(emu)["input"]] == ["udp://main"]
    assert [x["url"] for x in progress(emu, i=1)["input"]] == ["udp://backup"]
    emu.call(dict(LIVE, name="two", input=["udp://a", "udp://b"]))
    assert [x["url"] for x in progress(emu, "two")["input"]] == ["udp://a", "udp://b"]
    emu.control("PATCH", "config", json={"progress_inputs": "all"})
    assert len(progress(emu)["input"]) == 2


def test_run_time_fault_transient(emu, clock):
    emu.call(LIVE)
    emu.call(dict(LIVE, name="other"))
    t0 = clock[0]
    assert emu.control("PUT", "jobs/vtv3/fault", json={"code": "OUTPUT_TIMEOUT"}) == {"ok": True}
    job = progress(emu)
    assert job["state"] == "error" and progress(emu, "other")["state"] == "started"
    assert [parse(x) for x in job["error"]] == [(utc(t0), "Output timed out: /data/vtv3", "OUTPUT_TIMEOUT")]
    state = emu.control("GET", "state")["jobs"]["vtv3"]
    assert state["faults"] == ["OUTPUT_TIMEOUT"] and state["errors"] == job["error"]
    clock[0] += 5
    emu.control("DELETE", "jobs/vtv3/fault")  # the server's retry succeeds
    job = progress(emu)
    assert job["state"] == "started" and len(job["error"]) == 1
    emu.control("PUT", "jobs/*/fault", json={"code": "PACKET_QUEUE_IS_FULL", "duration": 2,
                                             "message": "queue full on GPU 0"})
    assert [progress(emu, n)["state"] for n in ("vtv3", "other")] == ["error", "error"]
    assert parse(progress(emu, "other")["error"][-1])[1:] == ("queue full on GPU 0", "PACKET_QUEUE_IS_FULL")
    clock[0] += 2  # a transient fault with a duration ends by itself
    assert [progress(emu, n)["state"] for n in ("vtv3", "other")] == ["started", "started"]
    emu.control("PUT", "jobs/vtv3/fault", json={"code": "BRAND_NEW_CODE"})
    assert parse(progress(emu)["error"][-1])[1:] == ("Unknown error", "BRAND_NEW_CODE")
    assert progress(emu)["state"] == "error"


def test_run_time_fault_creation_only(emu):
    emu.call(LIVE)
    emu.control("PUT", "jobs/vtv3/fault", json={"code": "NO_ROUTE_TO_HOST", "url": "udp://239.2.2.2:5000"})
    assert parse(progress(emu)["error"][0])[1:] == ("No route to host: udp://239.2.2.2:5000", "NO_ROUTE_TO_HOST")
    emu.control("DELETE", "jobs/vtv3/fault")
    assert progress(emu)["state"] == "error"  # only a new start recovers it
    emu.call(LIVE)
    assert progress(emu)["state"] == "started" and progress(emu)["error"] == []


@pytest.mark.parametrize("path, body, status", [
    ("jobs/ghost/fault", {"code": "IO_ERROR"}, 404),
    ("jobs/vtv3/fault", {"code": "lower"}, 400),
    ("jobs/vtv3/fault", {}, 400),
    ("jobs/vtv3/fault", {"code": "IO_ERROR", "colour": 1}, 400),
])
def test_run_time_fault_refused(emu, path, body, status):
    emu.call(LIVE)
    assert requests.put(emu.ctl(0, path), json=body, timeout=5).status_code == status
    assert progress(emu)["state"] == "started"


def test_progress_without_name_answers_for_every_job(emu):
    for name in ("a", "b"):
        emu.call(dict(LIVE, name=name))
    for body in ({"type": "progress"}, {"type": "progress", "name": ""}, {"type": "progress", "name": "*"}):
        reply = emu.call(body)
        assert reply["ec"] == 0 and reply["total"] == 2 and set(reply["result"]) == {"a", "b"}
    assert set(emu.call({"type": "progress", "name": ["a", "zz"]})["result"]) == {"a"}


def test_id_echo_switch(start_emulator):
    emu = start_emulator({}, {"ignore_id": True}, {"ignore_id": "omit"})
    for i in range(3):
        emu.call(dict(LIVE, _id="rec-1"), i=i)
    assert [progress(emu, i=i).get("_id", "absent") for i in range(3)] == ["rec-1", "", "absent"]
    reply = requests.patch(emu.ctl(0, "config"), json={"ignore_id": "sometimes"}, timeout=5)
    assert reply.status_code == 400


def test_bad_broken_inputs_refused(emu):
    for bad in ([{"url": "udp://x", "code": "nope"}], [{"code": "IO_ERROR"}], [7]):
        reply = requests.patch(emu.ctl(0, "config"), json={"broken_inputs": bad}, timeout=5)
        assert reply.status_code == 400, bad
