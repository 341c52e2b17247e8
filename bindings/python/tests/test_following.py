"""Following the deployment from Python: options for remapping, resolving and reading from
replicas, health checks, metrics and events, against real clusters."""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List

import pytest

import slotwise
from conftest import harness, redis_cli, wait_until


@pytest.mark.parametrize(
    "opts, exc",
    [
        ({"read_from": "nearest"}, ValueError),
        ({"read_from": 1}, TypeError),
        ({"address_remap": 5}, TypeError),
        ({"address_remap": {"no-port": "127.0.0.1:1"}}, ValueError),
        ({"resolver": "not callable"}, TypeError),
        ({"sentinel_subscribe": "yes"}, TypeError),
        ({"retry_unsafe_writes": 1}, TypeError),
        ({"sentinel_poll_interval": 0}, ValueError),
        ({"probe_interval": -1.0}, ValueError),
    ],
)
def test_bad_following_options_are_refused_clearly(opts: Dict[str, Any], exc: type) -> None:
    with pytest.raises(exc) as e:
        slotwise.Client.cluster(["127.0.0.1:1"], **opts)
    assert next(iter(opts)) in str(e.value)


def test_resolver_maps_a_startup_name_to_the_current_nodes(seeds: List[str], key: Any) -> None:
    asked: List[Any] = []

    def resolve(host: str, port: int) -> List[str]:
        asked.append((host, port))
        return seeds

    with slotwise.Client.cluster(["cluster.slotwise.invalid:7000"], resolver=resolve) as c:
        c.set(key("r"), "v")
        assert c.get(key("r")) == b"v"
    assert ("cluster.slotwise.invalid", 7000) in asked


def test_health_check_and_metrics(client: slotwise.Client) -> None:
    report = client.health_check()
    assert report["healthy"] is True, report
    assert report["uncovered_slots"] == 0
    assert len(report["nodes"]) == 3
    assert all(n["ok"] and n["latency"] > 0 and n["error"] is None for n in report["nodes"])
    m = client.metrics()
    assert m["refreshes"].get("startup") == 1, m
    assert m["topology_queries"] >= 1
    assert sum(m["connects"].values()) >= 3


def test_reads_from_replicas(seeds: List[str], key: Any) -> None:
    for policy in ("prefer_replica", "replicas_round_robin", "lowest_latency"):
        with slotwise.Client.cluster(seeds, read_from=policy) as c:
            c.set(key(policy), policy)
            # Replication is asynchronous: the replica catches up within moments.
            wait_until(lambda: c.get(key(policy)) == policy.encode(), what=f"{policy} read")


@pytest.fixture(scope="module")
def natted() -> Any:
    """A cluster whose nodes announce names that resolve nowhere (a NAT in front of it)."""
    d = harness("start-cluster", "--primaries", "3", "--replicas", "1", "--announce-hostnames")
    yield d
    harness("stop", "--dir", d["dir"])


def test_nat_remap_events_and_a_failover(natted: Dict[str, Any], key: Any, caplog: Any) -> None:
    real = {n["announced"]: f'{n["host"]}:{n["port"]}' for n in natted["nodes"]}

    def remap(host: str, port: int) -> Any:
        return real.get(f"{host}:{port}")

    events: List[Dict[str, Any]] = []
    seen = threading.Event()

    def on_event(e: Dict[str, Any]) -> None:
        events.append(e)
        if e["type"] == "failover":
            seen.set()

    def broken(e: Dict[str, Any]) -> None:
        raise RuntimeError("a buggy callback")

    with slotwise.Client.cluster(natted["seeds"], address_remap=remap) as c:
        # The topology holds what the nodes announce; connections go where remap says.
        announced = {n["address"] for s in c.topology()["shards"] for n in [s["primary"], *s["replicas"]]}
        assert announced == set(real), announced
        c.on_event(on_event)
        c.on_event(broken)
        for i in range(200):
            c.set(key(f"n{i}"), i)
        replica = next(n for n in natted["nodes"] if n["role"] == "replica")
        with caplog.at_level(logging.ERROR, logger="slotwise"):
            redis_cli(f'{replica["host"]}:{replica["port"]}', "CLUSTER", "FAILOVER")
            for i in range(2000):
                c.set(key(f"n{i % 200}"), i)  # no failure allowed: a graceful failover
            assert seen.wait(10), events
        assert any("on_event callback raised" in r.getMessage() for r in caplog.records)
        failover = next(e for e in events if e["type"] == "failover")
        assert failover["new_primary"] == replica["announced"]
        assert c.health_check()["healthy"]


def test_scan_iter_finds_every_key_on_every_primary(client: slotwise.Client, seeds: List[str], key: Any) -> None:
    names = {key(f"scan{i}") for i in range(300)}
    for n in names:
        client.set(n, 1)
    prefix = next(iter(names)).rsplit(":", 1)[0]
    assert {k.decode() for k in client.scan_iter(match=f"{prefix}:*", count=50)} == names
    with pytest.raises(ValueError):
        list(client.scan_iter(count=0))

    import asyncio

    async def run() -> None:
        a = await slotwise.AsyncClient.cluster(seeds, decode_responses=True)
        found = {k async for k in a.scan_iter(match=f"{prefix}:*")}
        assert found == names
        a.close()

    asyncio.run(run())
