"""Identities, fleet files and the fleet generator."""

import pytest

from sigma_emulator import fleet
from test_api import SEED


def test_seed_identity_gpu_table():
    a10 = fleet.GPU_MODELS["NVIDIA A10"]
    assert a10["encoder"] == SEED["supported"][0]["encoder"]
    assert a10["decoder"] == SEED["supported"][0]["decoder"]
    assert a10["memory"] == SEED["system"]["gpu"][0]["total"]
    assert fleet.gpu_model("NVIDIA T4") == "Tesla T4"
    with pytest.raises(ValueError):
        fleet.gpu_model("Voodoo 2")


def test_load_fleet(tmp_path):
    path = tmp_path / "fleet.yml"
    path.write_text("""
defaults: {version: 3.0.11, latency_ms: 5}
servers:
  - {name: srv-a10, port: 19901, gpus: [{model: NVIDIA A10, count: 1}]}
  - {name: srv-cpu, port: 19904, gpus: [], version: 3.0.12, license_status: EXPIRED}
  - {name: srv-t4, port: 19905, gpus: [{model: T4, count: 2}], faults: {http500: true}}
""")
    a10, cpu, t4 = fleet.load_fleet(path)
    assert (a10["name"], a10["port"], a10["version"], a10["latency_ms"]) == ("srv-a10", 19901, "3.0.11", 5)
    assert a10["hostname"] == "srv-a10" and a10["host"] == "127.0.0.1"
    assert cpu["gpus"] == [] and cpu["version"] == "3.0.12" and cpu["license_status"] == "EXPIRED"
    assert t4["gpus"] == [{"model": "Tesla T4", "count": 2}] and t4["faults"] == {"http500": True}
    path.write_text("servers:\n  - {name: x, port: 1, colour: red}\n")
    with pytest.raises(ValueError, match="colour"):
        fleet.load_fleet(path)


def test_generator_is_deterministic_and_mixed():
    first = fleet.generate(40, 21000, seed=7)
    assert first == fleet.generate(40, 21000, seed=7)
    assert first != fleet.generate(40, 21000, seed=8)
    assert [s["port"] for s in first] == list(range(21000, 21040))
    assert len({s["name"] for s in first}) == 40
    layouts = [s["gpus"] for s in first]
    assert [] in layouts
    assert any(len(g) == 1 and g[0]["count"] > 1 for g in layouts)
    assert any(len({x["model"] for x in g}) > 1 for g in layouts)
    assert {"VALID", "EXPIRED", "INVALID", None} <= {s["license_status"] for s in first}
    assert len({s["version"] for s in first}) >= 3
    small = fleet.generate(10, 0)
    assert {s["port"] for s in small} == {0} and [] in [s["gpus"] for s in small]
