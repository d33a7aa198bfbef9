"""The API functions on "/" and the contract's decisions."""

import json
import pathlib
import time

import pytest
import requests

SEED = json.loads((pathlib.Path(__file__).parent / "data" / "seed_dump.json").read_text())
LIVE = {"type": "start", "name": "vtv3", "mode": "live", "input": "udp://239.1.1.1:5000", "gpu": 0,
        "profile": [{"id": "0x100", "type": "video", "bitrate": "3M"},
                    {"id": "0x101", "type": "audio", "bitrate": 128},
                    {"id": "0x102", "type": "video", "enable": 0}],
        "target": [{"format": "hls", "url": "/data/vtv3", "select": [["0x100", "0x101"]],
                    "drm": {"type": "AES_128", "key": "k1"}},
                   {"format": "udp", "url": "udp://239.2.2.2:5000", "select": ["0x101"]}],
        "watermark": [{"id": "0", "x": 10, "url": "logo.png"}]}


def shape(value):
    """Keys (recursively) and value types of a JSON document; lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_dump_has_the_seed_shape(emu):
    for _ in range(3):
        emu.call(dict(LIVE, name=f"job{_}"))
    for doc in (requests.get(emu.url(), timeout=5).json(), emu.call({"type": "dump"})):
        assert shape(doc) == shape(SEED)
        assert list(doc) == list(SEED)
    load = ("used", "gpu", "mem", "enc", "dec", "temp", "percent", "count")  # 3 jobs, as the seed
    assert [doc["system"]["gpu"][0][k] for k in load] == [SEED["system"]["gpu"][0][k] for k in load]
    assert doc["supported"] == SEED["supported"]
    for key in ("name", "version", "branch", "build", "timezone", "hostname", "licenseStatus"):
        assert doc[key] == SEED[key]
    assert doc["nats"]["license"] == SEED["nats"]["license"]


def test_dump_reflects_jobs(start_emulator):
    emu = start_emulator({"gpus": [{"model": "Tesla T4", "count": 2}]})
    emu.call(dict(LIVE, name="a", gpu=1))
    emu.call(dict(LIVE, name="b", gpu=0, option={"gpu": 1}))
    emu.call(dict(LIVE, name="c", gpu=-1))
    emu.call(dict(LIVE, name="d", mode="vod", gpu=0))
    doc = emu.call({"type": "dump"})
    assert doc["total"] == 4 and doc["task"] == {"started": 4} and doc["queue"] == 0
    cards = doc["system"]["gpu"]
    assert [c["count"] for c in cards] == [1, 2]
    assert cards[1]["used"] > cards[0]["used"] and cards[1]["percent"] > cards[0]["percent"]
    assert cards[1]["enc"] > cards[0]["enc"]
    assert [s["name"] for s in doc["supported"]] == ["Tesla T4"]


def test_cpu_only_and_multi_model(start_emulator):
    emu = start_emulator({"gpus": []}, {"gpus": [{"model": "NVIDIA L4"}, {"model": "GTX 1080"}]})
    cpu = emu.call({"type": "dump"})
    assert cpu["supported"] == [] and cpu["system"]["gpu"] == []
    assert emu.call(dict(LIVE, gpu=0))["ec"] != 0
    assert emu.call(dict(LIVE, gpu=-1))["ec"] == 0
    mixed = emu.call({"type": "dump"}, i=1)
    l4, pascal = mixed["supported"]
    assert "av1@yuv420p" in l4["encoder"]
    assert pascal["name"] == "NVIDIA GeForce GTX 1080"
    assert "hevc@yuv444p10le" not in pascal["encoder"] and "hevc@yuv420p10le" in pascal["encoder"]
    assert [g["index"] for g in mixed["system"]["gpu"]] == [0, 1]


def test_start_progress_stop(emu):
    assert emu.answer(dict(LIVE, _id="rec-7", weight=3)) == {"ec": 0, "result": {"vtv3": "done"}}
    reply = emu.call({"type": "progress", "mode": "live", "name": "vtv3"})
    assert reply["total"] == 1 and reply["ec"] == 0 and list(reply) == ["total", "ec", "result", "dt"]
    job = reply["result"]["vtv3"]
    assert set(job) == {"speed", "created", "startup", "state", "life", "pts", "error", "input",
                        "profile", "target", "weight", "_id"}
    assert job["state"] == "started" and job["error"] == [] and job["_id"] == "rec-7" and job["weight"] == 3
    assert job["input"][0]["url"] == LIVE["input"] and job["input"][0]["profile"]
    assert job["profile"] == [{"id": "0x100", "bitrate": 3000}, {"id": "0x101", "bitrate": 128}]
    assert [t["bitrate"] for t in job["target"]] == [3128, 128]
    assert time.strptime(job["created"], "%Y-%m-%d %H:%M:%S")
    assert emu.answer({"type": "stop", "mode": "live", "name": "vtv3"}) == {
        "ec": 0, "result": {"vtv3": "OK"}, "msg": 'Stop 1 task(s) "vtv3"'}
    assert emu.answer({"type": "progress", "name": "*"}) == {"total": 0, "ec": 0, "result": {}}


def test_unknown_names(emu):
    assert emu.answer({"type": "progress", "name": "nope"}) == {"total": 0, "ec": 0, "result": {}}
    stop = emu.call({"type": "stop", "name": "nope"})
    assert stop["ec"] == 0 and stop["result"] == {} and stop["msg"] == "Stop 0 task(s)"


def test_life_advances(start_emulator, monkeypatch):
    emu = start_emulator({})
    emu.call(LIVE)
    later = time.time() + 3 * 3600 + 125
    monkeypatch.setattr(time, "time", lambda: later)
    job = emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]
    assert job["life"] == job["pts"] == "3h02m05s"


def test_restart_by_start_keeps_created(emu, monkeypatch):
    emu.call(dict(LIVE, _id="a"))
    first = emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]
    later = time.time() + 7200
    monkeypatch.setattr(time, "time", lambda: later)
    assert emu.call(dict(LIVE, _id="b", input={"main": "udp://m", "backup": "udp://b"}))["ec"] == 0
    job = emu.call({"type": "progress", "name": "*"})["result"]["vtv3"]
    assert job["created"] == first["created"] and job["startup"] != first["startup"]
    assert job["life"] == "0h00m00s" and job["_id"] == "b"
    assert [i["url"] for i in job["input"]] == ["udp://m", "udp://b"]
    state = emu.control("GET", "state")["jobs"]["vtv3"]
    assert state["restarts"] == 1 and state["config"]["input"]["main"] == "udp://m"


@pytest.mark.parametrize("body, ec", [
    ({"type": "start", "mode": "live"}, 1),
    ({"type": "start", "name": "x"}, 1),
    ({"type": "start", "name": "x", "mode": "film"}, 1),
    ({"type": "start", "name": "x", "mode": "live", "gpu": 1}, 6),
    ({"type": "start", "name": "x", "mode": "live", "gpu": 0, "option": {"gpu": 3}}, 6),
    ({"type": "start", "name": "x", "mode": "live", "gpu": "zero"}, 1),
    ({"type": "progress", "name": 7}, 1),
    ({"type": "stop"}, 1),
    ({"type": "info"}, 1),
    ({"name": "x"}, 1),
    ({"type": "teleport"}, 2),
])
def test_application_errors(emu, body, ec):
    reply = emu.call(body)
    assert reply["ec"] == ec and reply["msg"] and reply["result"] == {}


def test_unknown_function_and_bad_json(emu):
    assert "unknown function" in emu.call({"type": "teleport"})["msg"]
    for raw in ("{not json", "[1, 2]"):
        reply = requests.post(emu.url(), data=raw, timeout=5)
        assert reply.status_code == 200 and reply.json()["ec"] != 0


@pytest.mark.parametrize("function", ["apps", "log", "file", "read", "write", "awt", "pin id3",
                                      "preload", "event", "ads", "scte35", "mixer", "stream",
                                      "queue", "decklink", "subtitle", "trick", "cc", "pte", "join"])
def test_not_implemented(emu, function):
    reply = emu.call({"type": function, "mode": "live", "name": "x"})
    assert reply["ec"] == 3 and "not implemented by the emulator" in reply["msg"]


def test_licence_must_be_valid(start_emulator):
    emu = start_emulator({"license_status": "EXPIRED"}, {"license_status": None})
    assert emu.call(LIVE)["ec"] == 5
    assert emu.call({"type": "dump"})["licenseStatus"] == "EXPIRED"
    assert "licenseStatus" not in emu.call({"type": "dump"}, i=1)
    assert emu.call(LIVE, i=1)["ec"] == 5


def test_vod_finishes_and_stays(start_emulator):
    emu = start_emulator({"vod_duration": 1.5})
    emu.call(dict(LIVE, name="film", mode="vod"))
    assert emu.call({"type": "progress", "name": "film"})["result"]["film"]["state"] == "started"
    time.sleep(1.6)
    job = emu.call({"type": "progress", "name": "film"})["result"]["film"]
    assert job["state"] == "finished"
    assert emu.call({"type": "dump"})["task"] == {"finished": 1}
    emu.call({"type": "stop", "name": "film"})
    assert emu.call({"type": "progress", "name": "*"})["total"] == 0


def test_broken_inputs(start_emulator):
    emu = start_emulator({"broken_inputs": ["udp://dead", "rtmp://down/*"]})
    emu.call(dict(LIVE, input="rtmp://down/live"))
    job = emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]
    assert job["state"] == "error" and job["input"][0]["profile"] == []
    assert job["error"][0].startswith("[") and job["error"][0].endswith("(code: INPUT_TIMEOUT)")
    emu.call(dict(LIVE, name="fo", input={"main": "udp://dead", "backup": "udp://alive"}))
    failover = emu.call({"type": "progress", "name": "fo"})["result"]["fo"]
    assert failover["state"] == "started" and len(failover["error"]) == 1
    emu.call(dict(LIVE, name="two", input=["udp://alive", "udp://dead"]))
    assert emu.call({"type": "progress", "name": "two"})["result"]["two"]["state"] == "error"
    info = emu.call({"type": "info", "input": "udp://dead"})
    assert info["ec"] == 7 and "udp://dead" in info["msg"]
    assert emu.call({"type": "dump"})["task"] == {"error": 2, "started": 1}


def test_info_is_deterministic_and_configurable(start_emulator):
    streams = [{"type": "video", "codec": "hevc", "width": 3840}]
    emu = start_emulator({}, {"probe": {"udp://fixed": streams}})
    url = "udp://239.1.1.1:5000"
    first = emu.call({"type": "info", "input": url, "timeout": 20, "detectKeyframe": 0})
    again = emu.call({"type": "info", "input": url}, i=1)
    assert first["result"] == again["result"] and first["ec"] == 0
    video, audio = first["result"][url]
    assert {"type", "codec", "bitrate", "width", "height", "fps", "interlaced", "pixelFormat",
            "profile", "level"} == set(video) and video["type"] == "video"
    assert {"type", "codec", "bitrate", "channel", "sampleRate", "profile"} == set(audio)
    kf = emu.call({"type": "info", "input": url, "detectKeyframe": 1})["result"][url][0]["kf"]
    assert [int(k) for k in kf.split(",")][:2][0] == 0
    assert emu.call({"type": "info", "input": "udp://fixed"}, i=1)["result"] == {"udp://fixed": streams}
    emu.call(dict(LIVE, input="udp://fixed"), i=1)
    job = emu.call({"type": "progress", "name": "vtv3"}, i=1)["result"]["vtv3"]
    assert job["input"][0]["profile"] == ["hevc 3840xNone"]


def test_stop_many(emu):
    for name in ("a", "b", "c"):
        emu.call(dict(LIVE, name=name))
    assert emu.call({"type": "stop", "name": ["a", "zz"]})["msg"] == 'Stop 1 task(s) "a"'
    assert emu.call({"type": "stop", "name": "*"})["result"] == {"b": "OK", "c": "OK"}


def test_update(emu):
    emu.call(dict(LIVE, option={"gpu": 0}))
    before = emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]["startup"]
    for flt, ident, changed in [("overlay", "0", {"x": 99}), ("volume", "0x101", {"volume": "+5dB"}),
                                ("drm", "", {"key": "k2"}), ("header", "", {"X-A": "1"})]:
        reply = emu.answer({"type": "update", "name": "vtv3", "filter": flt, "id": ident, "changed": changed})
        assert reply == {"ec": 0, "result": {}}
    job = emu.control("GET", "state")["jobs"]["vtv3"]
    cfg = job["config"]
    assert cfg["watermark"][0]["x"] == 99 and cfg["profile"][1]["volume"] == "+5dB"
    assert cfg["target"][0]["drm"] == {"type": "AES_128", "key": "k2"}
    assert cfg["target"][0]["manifest"]["header"] == {"X-A": "1"} and "manifest" not in cfg["target"][1]
    assert len(job["updates"]) == 4 and job["restarts"] == 0
    assert emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]["startup"] == before


@pytest.mark.parametrize("body", [
    {"name": "ghost", "filter": "overlay", "id": "0", "changed": {}},
    {"name": "film", "filter": "overlay", "id": "0", "changed": {}},
    {"name": "vtv3", "filter": "colour", "id": "0", "changed": {}},
    {"name": "vtv3", "filter": "overlay", "id": "9", "changed": {"x": 1}},
    {"name": "vtv3", "filter": "volume", "id": "0x100", "changed": {"volume": 2}},
    {"name": "vtv3", "filter": "overlay", "id": "0", "changed": "x=1"},
])
def test_update_errors(emu, body):
    emu.call(LIVE)
    emu.call(dict(LIVE, name="film", mode="vod"))
    assert emu.call(dict(body, type="update"))["ec"] != 0


def test_ignore_id(start_emulator):
    emu = start_emulator({"ignore_id": True})
    emu.call(dict(LIVE, _id="mine"))
    assert emu.call({"type": "progress", "name": "vtv3"})["result"]["vtv3"]["_id"] == ""


def test_english_spelling(start_emulator):
    emu = start_emulator({"spelling": "english"})
    emu.call(dict(LIVE, name="life"))
    doc = emu.call({"type": "dump"})
    assert {"System", "APPS", "Tel"} <= set(doc) and "system" not in doc and "dt" not in doc
    assert "Encoder" in doc["supported"][0] and "Storage" in doc["System"]
    assert {"CPU", "Child"} <= set(doc["System"]["process"])
    assert "soft" in doc["System"]["gpu"][0] and "mem" not in doc["System"]["gpu"][0]
    assert "Life" in doc["APPS"][0] and "ID" in doc["nats"]
    assert doc["task"] == {"started": 1}
    job = emu.call({"type": "progress", "name": "life"})["result"]["life"]
    assert "Life" in job and "ID" in job["profile"][0]

