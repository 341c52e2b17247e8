"""The field reports, from Python: a graceful failover during a workload loses nothing; a
killed primary costs at most the writes that were in flight, each reported as may-have-run.
Named to run last: these change the shared cluster's roles (the harness restores health)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List, Tuple

import slotwise
from conftest import harness, redis_cli, wait_until


class Workload:
    """Sync threads and asyncio tasks doing SET then GET over keys on every shard."""

    def __init__(self, seeds: list, tag: str, threads: int = 2, tasks: int = 20) -> None:
        self.seeds, self.tag = seeds, tag
        self.stop = threading.Event()
        self.ok = 0
        self.failures: List[BaseException] = []
        self.lock = threading.Lock()
        self.client = slotwise.Client.cluster(seeds, request_timeout=8.0)
        self.workers = [threading.Thread(target=self.sync_worker, args=(i,)) for i in range(threads)]
        self.workers.append(threading.Thread(target=lambda: asyncio.run(self.async_main(tasks))))

    def record(self, ok: bool, err: BaseException | None = None) -> None:
        with self.lock:
            if ok:
                self.ok += 1
            else:
                assert err is not None
                self.failures.append(err)

    def sync_worker(self, w: int) -> None:
        i = 0
        while not self.stop.is_set():
            k = f"{self.tag}:s{w}:{i % 500}"
            try:
                self.client.set(k, i)
                assert self.client.get(k) == str(i).encode()
                self.record(True)
            except slotwise.SlotwiseError as e:
                self.record(False, e)
            i += 1

    async def async_main(self, tasks: int) -> None:
        async with await slotwise.AsyncClient.cluster(self.seeds, request_timeout=8.0) as a:

            async def task(t: int) -> None:
                i = 0
                while not self.stop.is_set():
                    k = f"{self.tag}:a{t}:{i % 100}"
                    try:
                        await a.set(k, i)
                        assert await a.get(k) == str(i).encode()
                        self.record(True)
                    except slotwise.SlotwiseError as e:
                        self.record(False, e)
                    i += 1

            await asyncio.gather(*(task(t) for t in range(tasks)))

    def __enter__(self) -> "Workload":
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for w in self.workers:
            w.join(timeout=30)
        assert not any(w.is_alive() for w in self.workers), "a worker hung"
        self.client.close()

    def ops(self) -> int:
        with self.lock:
            return self.ok


def live_nodes(cluster: Dict[str, Any]) -> List[Dict[str, Any]]:
    return list(harness("info", "--dir", cluster["dir"], "--live")["nodes"])


def a_replica(cluster: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    nodes = live_nodes(cluster)
    replica = next(n for n in nodes if n["role"] == "replica" and n["alive"])
    primary = nodes[replica["primary_index"]]
    return replica, primary


def addr(n: Dict[str, Any]) -> str:
    return f"{n['host']}:{n['port']}"


def role(n: Dict[str, Any]) -> str:
    for line in redis_cli(addr(n), "ROLE").splitlines():
        return line.strip()
    return ""


def progress(w: Workload, more: int, timeout: float = 10.0) -> None:
    target = w.ops() + more
    wait_until(lambda: w.ops() >= target, timeout, f"{more} more operations")


def test_graceful_failover_during_workload_loses_nothing(cluster: Dict[str, Any], key: Any) -> None:
    harness("wait-ok", "--dir", cluster["dir"])
    replica, old_primary = a_replica(cluster)
    with Workload(cluster["seeds"], key("failover")) as w:
        progress(w, 500)
        assert redis_cli(addr(replica), "CLUSTER", "FAILOVER").strip() == "OK"
        wait_until(lambda: role(replica) == "master", 15, "the replica to take over")
        progress(w, 2000, 20)
        # The client follows: the promoted node is a primary in its topology.
        w.client.refresh_topology()
        # Shards that serve slots: right after a failover CLUSTER SHARDS may still list the
        # old primary as the primary of an empty shard, which the client never routes to.
        primaries = {s["primary"]["address"] for s in w.client.topology()["shards"] if s["slots"]}
        assert addr(replica) in primaries and addr(old_primary) not in primaries
    assert w.failures == [], w.failures[:5]
    assert w.ok > 2500
    harness("wait-ok", "--dir", cluster["dir"])


def test_primary_killed_during_workload(cluster: Dict[str, Any], key: Any) -> None:
    harness("wait-ok", "--dir", cluster["dir"])
    replica, primary = a_replica(cluster)
    with Workload(cluster["seeds"], key("kill")) as w:
        progress(w, 500)
        harness("kill-node", "--dir", cluster["dir"], "--index", str(primary["index"]))
        wait_until(lambda: role(replica) == "master", 20, "the replica to take over")
        progress(w, 2000, 30)
    # Only writes that were in flight when the primary died may fail, and each says so.
    assert all(e.may_have_run for e in w.failures), [repr(e) for e in w.failures[:5]]
    assert len(w.failures) <= 22, [repr(e) for e in w.failures[:5]]
    harness("restart-node", "--dir", cluster["dir"], "--index", str(primary["index"]))
    harness("wait-ok", "--dir", cluster["dir"])
