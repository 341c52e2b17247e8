"""Pub/Sub through a graceful failover of the shard serving a sharded channel, from Python:
the subscription moves to the promoted replica by itself, one ``resubscribed`` message says
so, and every message published afterwards arrives exactly once. Named to run last: it changes
the shared cluster's roles (the harness restores health)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict

import slotwise
from conftest import harness, redis_cli, wait_until
from test_zz_failover import a_replica, addr, role


def test_sharded_subscription_follows_a_graceful_failover(cluster: Dict[str, Any]) -> None:
    harness("wait-ok", "--dir", cluster["dir"])
    replica, primary = a_replica(cluster)
    with slotwise.Client.cluster(cluster["seeds"], request_timeout=10.0) as c:
        shard = next(s for s in c.topology()["shards"] if s["primary"]["address"] == addr(primary))
        tag = uuid.uuid4().hex[:8]
        channel = next(
            f"{tag}:{i}"
            for i in range(10_000)
            if any(a <= int(redis_cli(addr(primary), "CLUSTER", "KEYSLOT", f"{tag}:{i}")) <= b for a, b in shard["slots"])
        )
        p = c.pubsub(ignore_subscribe_messages=True)
        p.ssubscribe(channel)
        p.subscribe(channel)
        t0 = time.monotonic()
        assert redis_cli(addr(replica), "CLUSTER", "FAILOVER").strip() == "OK"
        wait_until(lambda: role(replica) == "master", 15, "the replica to take over")
        m = p.get_message(timeout=15.0)
        assert m is not None and m["type"] == "resubscribed", m
        assert [tuple(x) for x in m["data"]] == [("sharded", channel.encode())]
        restored = time.monotonic() - t0
        for i in range(50):
            c.execute("SPUBLISH", channel, str(i))
            c.publish(channel, str(i))
        got: Dict[str, list] = {"smessage": [], "message": []}
        while len(got["smessage"]) + len(got["message"]) < 100:
            m = p.get_message(timeout=5.0)
            assert m is not None, f"all 100 messages within 5 s each: {got}"
            got[m["type"]].append(int(m["data"]))
        assert sorted(got["smessage"]) == list(range(50))
        assert sorted(got["message"]) == list(range(50))
        assert p.get_message(timeout=0.5) is None, "nothing twice"
        p.close()
        print(f"MEASURE python pubsub graceful failover: resubscribed_after={restored:.3f}s")
    harness("wait-ok", "--dir", cluster["dir"])
