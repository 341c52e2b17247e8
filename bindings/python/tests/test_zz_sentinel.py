"""Sentinel from Python: follow `SENTINEL FAILOVER` under writes, with health checks."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import pytest

import slotwise
from conftest import harness, redis_cli, wait_until


@pytest.fixture(scope="module")
def sentinel() -> Any:
    d = harness("start-sentinel", "--replicas", "2", "--sentinels", "3")
    yield d
    harness("stop", "--dir", d["dir"])


def test_sentinel_failover_under_writes(sentinel: Dict[str, Any], key: Any) -> None:
    service = sentinel["service"]
    c = slotwise.Client.sentinel(sentinel["seeds"], service, request_timeout=15.0)
    old = c.topology()["shards"][0]["primary"]["address"]
    assert c.health_check()["healthy"]
    redis_cli(sentinel["seeds"][0], "SENTINEL", "FAILOVER", service)
    failures = []
    acked = {}
    for i in range(3000):
        k = key(f"s{i % 50}")
        try:
            c.set(k, i)
            acked[k] = i
        except slotwise.SlotwiseError as e:
            assert e.may_have_run, e
            failures.append(e)
        if c.topology()["shards"][0]["primary"]["address"] != old and i > 500:
            break
    wait_until(lambda: c.topology()["shards"][0]["primary"]["address"] != old, what="new master")
    assert len(failures) <= 1, failures
    for k, v in acked.items():
        assert c.get(k) == str(v).encode(), k
    assert c.health_check()["healthy"]
    c.close()


def test_sentinel_url_and_async(sentinel: Dict[str, Any], key: Any) -> None:
    url = "redis+sentinel://" + ",".join(sentinel["seeds"]) + "/" + sentinel["service"]
    with slotwise.connect(url, decode_responses=True) as c:
        c.set(key("u"), "x")
        assert c.get(key("u")) == "x"

    async def run() -> None:
        a = await slotwise.AsyncClient.sentinel(sentinel["seeds"], sentinel["service"])
        await a.set(key("a"), "y")
        assert await a.get(key("a")) == b"y"
        assert (await a.health_check())["healthy"]
        a.close()

    asyncio.run(run())
