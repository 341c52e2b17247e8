"""Pub/Sub from Python, shaped like redis-py: sync and asyncio, the three kinds, confirmations,
unsubscribe, listen(), close(), and the automatic resubscription (one ``resubscribed`` message)
when the server cuts the subscriber's connections."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Dict, List

import pytest

import slotwise
from conftest import redis_cli


def _drain(p: Any, n: int) -> List[Dict[str, Any]]:
    out = []
    for _ in range(n):
        m = p.get_message(timeout=5.0)
        assert m is not None, f"message {len(out) + 1} of {n} within 5 s (got {out})"
        out.append(m)
    return out


def test_sync_three_kinds_confirmations_and_unsubscribe(seeds: list) -> None:
    tag = uuid.uuid4().hex[:8]
    with slotwise.Client.cluster(seeds) as c, c.pubsub() as p:
        assert p.get_message() is None  # nothing yet, no wait
        p.subscribe(f"a{tag}")
        p.psubscribe(f"p{tag}.*")
        p.ssubscribe(f"s{tag}")
        assert p.subscribed
        got = _drain(p, 3)
        assert sorted(m["type"] for m in got) == ["psubscribe", "ssubscribe", "subscribe"]
        assert {m["channel"] for m in got} == {f"a{tag}".encode(), f"p{tag}.*".encode(), f"s{tag}".encode()}
        c.publish(f"a{tag}", "1")
        assert p.get_message(timeout=5.0) == {
            "type": "message", "pattern": None, "channel": f"a{tag}".encode(), "data": b"1"
        }
        c.publish(f"p{tag}.x", "2")
        assert p.get_message(timeout=5.0) == {
            "type": "pmessage", "pattern": f"p{tag}.*".encode(), "channel": f"p{tag}.x".encode(), "data": b"2"
        }
        assert c.execute("SPUBLISH", f"s{tag}", "3") == 1
        assert p.get_message(timeout=5.0) == {
            "type": "smessage", "pattern": None, "channel": f"s{tag}".encode(), "data": b"3"
        }
        p.unsubscribe(f"a{tag}")
        m = p.get_message(timeout=5.0)
        assert m is not None and m["type"] == "unsubscribe" and m["data"] == 2
        c.publish(f"a{tag}", "gone")
        assert p.get_message(timeout=0.3) is None
        # ignore_subscribe_messages skips confirmations.
        p.subscribe(f"b{tag}")
        c.publish(f"b{tag}", "4")
        m = p.get_message(ignore_subscribe_messages=True, timeout=5.0)
        assert m is not None and m["data"] == b"4"
        with pytest.raises(TypeError):
            p.subscribe(3)  # type: ignore[arg-type]
    with pytest.raises(slotwise.ClosedError):
        p.get_message(timeout=1.0)


def test_listen_iterates_until_close_and_decodes(seeds: list) -> None:
    ch = f"l{uuid.uuid4().hex[:8]}"
    with slotwise.Client.cluster(seeds, decode_responses=True) as c:
        p = c.pubsub(ignore_subscribe_messages=True)
        p.subscribe(ch)
        got: List[Dict[str, Any]] = []

        def reader() -> None:
            for m in p.listen():
                got.append(m)
                if len(got) == 3:
                    p.close()

        t = threading.Thread(target=reader)
        t.start()
        for i in range(3):
            c.publish(ch, str(i))
        t.join(10)
        assert not t.is_alive(), "listen() ends at close()"
        # Sorted: PUBLISH goes to any primary and reaches the subscriber's node over the cluster
        # bus, so messages published through different nodes keep no order.
        assert sorted(m["data"] for m in got) == ["0", "1", "2"]
        assert all(m["channel"] == ch and m["type"] == "message" for m in got)


def test_async_pubsub(seeds: list) -> None:
    ch = f"as{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with await slotwise.AsyncClient.cluster(seeds) as c:
            async with c.pubsub(ignore_subscribe_messages=True) as p:
                await p.subscribe(ch)
                await p.ssubscribe(ch + "s")
                await p.psubscribe(ch + "*")
                await c.publish(ch, "x")
                await c.execute("SPUBLISH", ch + "s", "y")
                kinds = set()
                async for m in p.listen():
                    kinds.add((m["type"], m["data"]))
                    if len(kinds) == 3:
                        break
                assert kinds == {("message", b"x"), ("pmessage", b"x"), ("smessage", b"y")}
                await p.punsubscribe()
                await p.sunsubscribe()
                await p.unsubscribe()
                assert not p.subscribed
                assert await p.get_message(timeout=0.2) is None

    asyncio.run(main())


def test_server_cutting_the_connections_costs_one_resubscribed(seeds: list) -> None:
    name = f"ps{uuid.uuid4().hex[:8]}"
    ch = f"{name}:ch"
    with slotwise.Client.cluster(seeds, client_name=name) as c, c.pubsub() as p:
        p.subscribe(ch)
        p.ssubscribe(ch + ":s")
        _drain(p, 2)
        nodes = [n["address"] for s in c.topology()["shards"] for n in [s["primary"], *s["replicas"]]]
        # The subscriber's connections as they are now (by id: the new ones must survive).
        doomed = [
            (a, line.split()[0].split("=")[1])
            for a in nodes
            for line in redis_cli(a, "CLIENT", "LIST", "TYPE", "pubsub").splitlines()
            if f" name={name} " in f" {line} "
        ]
        assert len(doomed) == 2, f"the pub/sub connections carry the client name: {doomed}"
        for a, cid in doomed:
            redis_cli(a, "CLIENT", "KILL", "ID", cid)
        kinds = set()
        while len(kinds) < 2:
            m = p.get_message(timeout=10.0)
            assert m is not None, "resubscribed within 10 s"
            assert m["type"] == "resubscribed", m
            assert m["interrupted_for"] >= 0
            kinds.update(k for k, _ in m["data"])
        assert kinds == {"channel", "sharded"}
        for i in range(20):
            c.publish(ch, str(i))
            c.execute("SPUBLISH", ch + ":s", str(i))
        got = _drain(p, 40)
        assert sorted(m["data"] for m in got if m["type"] == "message") == sorted(str(i).encode() for i in range(20))
        assert sorted(m["data"] for m in got if m["type"] == "smessage") == sorted(str(i).encode() for i in range(20))
        assert p.get_message(timeout=0.5) is None, "each exactly once"
