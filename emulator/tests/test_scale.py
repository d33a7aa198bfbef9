"""1000 servers in one process: all answer within 10 s of start, in less than 400 MB RSS."""

import asyncio
import time

import aiohttp
import pytest

from test_cli import launch, terminate


async def _dump_all(urls):
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def dump(url):
            async with session.get(url) as reply:
                return (await reply.json())["port"]
        return await asyncio.gather(*(dump(u) for u in urls))


@pytest.mark.scale
def test_thousand_servers(tmp_path):
    t0 = time.monotonic()
    proc, info = launch(tmp_path, "--count", "1000", "--base-port", "0", "--quiet")
    try:
        servers = info["servers"]
        ports = asyncio.run(_dump_all([s["url"] for s in servers]))
        elapsed = time.monotonic() - t0
        assert sorted(ports) == sorted(s["port"] for s in servers) and len(set(ports)) == 1000
        assert elapsed < 10, f"1000 servers answered after {elapsed:.1f} s"
        with open(f"/proc/{proc.pid}/status", encoding="ascii") as fh:
            rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        assert rss_kb < 400 * 1024, f"RSS {rss_kb // 1024} MB"
    finally:
        terminate(proc)
