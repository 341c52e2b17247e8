"""Every command method, sync and async, cluster and standalone, RESP3 and RESP2: one scenario
run through each flavour so the expectations are written once."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any, Callable, List, Tuple

import pytest

import slotwise

Step = Tuple[str, tuple, dict, Any]


def scenario(k: Callable[[str], str]) -> List[Step]:
    a, b, c, n, h, l, s, z = (k(x) for x in "abcnhlsz")
    m1, m2, m3, missing = k("m1"), k("m2"), k("m3"), k("missing")
    script = "return {KEYS[1], ARGV[1]}"
    sha = hashlib.sha1(script.encode()).hexdigest()
    ttl_ok: Callable[[int], bool] = lambda v: 0 < v <= 100  # noqa: E731
    return [
        ("ping", (), {}, True),
        ("set", (a, "1"), {}, True),
        ("get", (a,), {}, b"1"),
        ("set", (a, "2"), {"nx": True}, None),
        ("set", (a, "2"), {"xx": True, "get": True}, b"1"),
        ("set", (b, b"\x00\xff"), {"ex": 100}, True),
        ("get", (b,), {}, b"\x00\xff"),
        ("ttl", (b,), {}, ttl_ok),
        ("set", (c, 1.5), {"px": timedelta(seconds=50)}, True),
        ("get", (c,), {}, b"1.5"),
        ("expire", (a, 100), {}, True),
        ("expire", (missing, timedelta(seconds=50)), {}, False),
        ("ttl", (a,), {}, ttl_ok),
        ("exists", (a, b, missing), {}, 2),
        ("mset", ({m1: "x", m2: b"y", m3: 3},), {}, True),
        ("mget", ([m1, m2], m3, missing), {}, [b"x", b"y", b"3", None]),
        ("mget", (m1,), {}, [b"x"]),
        ("incr", (n,), {}, 1),
        ("incr", (n, 5), {}, 6),
        ("incrby", (n, 10), {}, 16),
        ("decr", (n,), {}, 15),
        ("decr", (n, 5), {}, 10),
        ("hset", (h, "f", "v"), {}, 1),
        ("hset", (h,), {"mapping": {"g": 1, "h": 2.5}}, 2),
        ("hget", (h, "g"), {}, b"1"),
        ("hget", (h, "nope"), {}, None),
        ("hgetall", (h,), {}, {b"f": b"v", b"g": b"1", b"h": b"2.5"}),
        ("hgetall", (missing,), {}, {}),
        ("hdel", (h, "f", "nope"), {}, 1),
        ("rpush", (l, 1, 2, 3), {}, 3),
        ("lpush", (l, 0), {}, 4),
        ("lrange", (l, 0, -1), {}, [b"0", b"1", b"2", b"3"]),
        ("lpop", (l,), {}, b"0"),
        ("rpop", (l, 2), {}, [b"3", b"2"]),
        ("lpop", (missing,), {}, None),
        ("sadd", (s, "x", "y", "z"), {}, 3),
        ("srem", (s, "z"), {}, 1),
        ("smembers", (s,), {}, {b"x", b"y"}),
        ("smembers", (missing,), {}, set()),
        ("zadd", (z, {"one": 1, "two": 2.5}), {}, 2),
        ("zadd", (z, {"one": 5}), {"xx": True, "ch": True}, 1),
        ("zadd", (z, {"one": 1}), {"gt": True, "ch": True}, 0),
        ("zrange", (z, 0, -1), {}, [b"two", b"one"]),
        ("zrange", (z, 0, -1), {"desc": True, "withscores": True}, [(b"one", 5.0), (b"two", 2.5)]),
        ("zrange", (missing, 0, -1), {"withscores": True}, []),
        ("zscore", (z, "two"), {}, 2.5),
        ("zscore", (z, "nope"), {}, None),
        ("publish", (k("channel"), "hi"), {}, 0),
        ("eval", (script, 1, a, "arg"), {}, [a.encode(), b"arg"]),
        ("evalsha", (sha, 1, a, "again"), {}, [a.encode(), b"again"]),
        ("delete", (a, b, c, m1, m2, m3, missing), {}, 6),
        ("exists", (a,), {}, 0),
    ]


def check(step: Step, got: Any) -> None:
    name, args, kwargs, want = step
    if callable(want):
        assert want(got), f"{name}{args}{kwargs} -> {got!r}"
    else:
        assert got == want, f"{name}{args}{kwargs} -> {got!r}, want {want!r}"
        assert type(got) is type(want), f"{name}: {type(got)} is not {type(want)}"


MODES = [("cluster", 3), ("cluster", 2), ("standalone", 3), ("standalone", 2)]


def sync_client(mode: str, protocol: int, seeds: list, address: str, **kw: Any) -> slotwise.Client:
    if mode == "cluster":
        return slotwise.Client.cluster(seeds, protocol=protocol, **kw)
    return slotwise.Client.standalone(address, protocol=protocol, **kw)


async def async_client(
    mode: str, protocol: int, seeds: list, address: str, **kw: Any
) -> slotwise.AsyncClient:
    if mode == "cluster":
        return await slotwise.AsyncClient.cluster(seeds, protocol=protocol, **kw)
    return await slotwise.AsyncClient.standalone(address, protocol=protocol, **kw)


@pytest.mark.parametrize("mode,protocol", MODES)
def test_every_method_sync(mode: str, protocol: int, seeds: list, address: str, key: Any) -> None:
    with sync_client(mode, protocol, seeds, address) as r:
        for step in scenario(key):
            check(step, getattr(r, step[0])(*step[1], **step[2]))


@pytest.mark.parametrize("mode,protocol", MODES)
def test_every_method_async(mode: str, protocol: int, seeds: list, address: str, key: Any) -> None:
    async def run() -> None:
        async with await async_client(mode, protocol, seeds, address) as r:
            for step in scenario(key):
                check(step, await getattr(r, step[0])(*step[1], **step[2]))

    asyncio.run(run())


def test_every_method_is_on_every_flavour() -> None:
    from slotwise._commands import BUILDERS

    for cls in (slotwise.Client, slotwise.AsyncClient, slotwise.Pipeline, slotwise.AsyncPipeline):
        for name in BUILDERS:
            assert callable(getattr(cls, name)), (cls, name)
    assert asyncio.iscoroutinefunction(slotwise.AsyncClient.get)
    assert not asyncio.iscoroutinefunction(slotwise.AsyncPipeline.get)


def test_execute_any_command(client: slotwise.Client, key: Any) -> None:
    k = key("raw")
    assert client.execute("SET", k, b"v") == b"OK"
    assert client.execute(b"GET", k) == b"v"
    assert client.execute("APPEND", k, 12) == 3
    assert client.execute("INCRBYFLOAT", key("f"), 0.25) == b"0.25"
    assert client.execute("GET", k) == b"v12"
    assert client.execute("SET", k, bytearray(b"ba")) == b"OK"
    assert client.execute("GET", k) == b"ba"
    assert client.execute("SET", k, memoryview(b"mv")) == b"OK"
    assert client.execute("GET", k) == b"mv"
    big = 2**70
    assert client.execute("SET", k, big) == b"OK"
    assert client.execute("GET", k) == str(big).encode()
    # A command fanned out to every primary: DBSIZE sums, KEYS would merge.
    assert isinstance(client.execute("DBSIZE"), int)


def test_resp3_types(address: str, key: Any) -> None:
    with slotwise.Client.standalone(address, protocol=3) as r:
        k = key("h")
        r.hset(k, mapping={"a": 1})
        assert r.execute("HGETALL", k) == {b"a": b"1"}  # a RESP3 map is a dict
        r.sadd(key("s"), "x")
        assert r.execute("SMEMBERS", key("s")) == {b"x"}  # a RESP3 set is a set
        r.zadd(key("z"), {"m": 1.5})
        assert r.execute("ZSCORE", key("z"), "m") == 1.5  # a RESP3 double is a float
        # CLIENT INFO is a RESP3 verbatim string: its text, without the format prefix.
        assert r.execute("CLIENT", "INFO").startswith(b"id=")


def test_decode_responses(seeds: list, key: Any) -> None:
    with slotwise.Client.cluster(seeds, decode_responses=True) as r:
        assert r.decode_responses
        k = key("d")
        assert r.set(k, "héllo") is True
        assert r.get(k) == "héllo"
        r.hset(key("h"), mapping={"f": "v"})
        assert r.hgetall(key("h")) == {"f": "v"}
        r.sadd(key("s"), "a", "b")
        assert r.smembers(key("s")) == {"a", "b"}
        r.zadd(key("z"), {"m": 2})
        assert r.zrange(key("z"), 0, -1, withscores=True) == [("m", 2.0)]
        assert r.execute("PING") == "PONG"
        r.set(k, b"\xff\xfe")
        with pytest.raises(UnicodeDecodeError):
            r.get(k)
        # Keys and values still go out as given.
        assert r.execute("STRLEN", k) == 2
