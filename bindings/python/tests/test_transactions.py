"""Transactions (pipeline(transaction=True), watch, multi) and scripts (register_script)
against the shared real cluster."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

import slotwise

INCRBY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
def tag() -> Any:
    """Keys sharing one slot: ``tag("a")`` -> ``{t1234}.a``."""
    t = uuid.uuid4().hex[:8]
    return lambda name: f"{{{t}}}.{name}"


def test_transaction_runs_queued_commands_in_order(client: slotwise.Client, tag: Any) -> None:
    with client.pipeline(transaction=True) as p:
        p.set(tag("a"), "1").incr(tag("b")).incrby(tag("b"), 10).get(tag("a"))
        assert p.execute() == [True, 1, 11, b"1"]
    # An error inside EXEC stands in its place (or is raised after the rest ran).
    p = client.pipeline(transaction=True)
    p.incr(tag("a"))
    p.hget(tag("a"), "f")  # WRONGTYPE inside EXEC
    p.incr(tag("a"))
    replies = p.execute(raise_on_error=False)
    assert replies[0] == 2 and replies[2] == 3
    assert isinstance(replies[1], slotwise.ResponseError)


def test_watch_then_a_concurrent_write_raises_watch_error(client: slotwise.Client, tag: Any) -> None:
    client.set(tag("balance"), 100)
    with client.pipeline(transaction=True) as p:
        p.watch(tag("balance"))
        assert p.get(tag("balance")) == b"100"  # immediate mode after watch
        client.set(tag("balance"), 5)  # someone else
        p.multi()
        p.set(tag("balance"), 90)
        p.set(tag("log"), "paid")
        with pytest.raises(slotwise.WatchError):
            p.execute()
    assert client.get(tag("balance")) == b"5"
    assert client.get(tag("log")) is None


def test_the_watch_retry_idiom(client: slotwise.Client, tag: Any) -> None:
    client.set(tag("n"), 1)
    p = client.pipeline(transaction=True)
    tries = 0
    while True:
        tries += 1
        try:
            p.watch(tag("n"))
            n = int(p.get(tag("n")))
            if tries == 1:
                client.incr(tag("n"))  # interferes once
            p.multi()
            p.set(tag("n"), n * 10)
            assert p.execute() == [True]
            break
        except slotwise.WatchError:
            continue
    assert tries == 2
    assert client.get(tag("n")) == b"20"


def test_execabort_applies_nothing(client: slotwise.Client, tag: Any) -> None:
    p = client.pipeline(transaction=True)
    p.incr(tag("x"))
    p.add("SET", tag("x"))  # wrong arity: refused while queueing
    with pytest.raises(slotwise.ExecAbortError) as e:
        p.execute()
    assert e.value.kind == "EXECABORT" and not e.value.may_have_run
    assert isinstance(e.value, slotwise.ResponseError)
    assert client.get(tag("x")) is None


def test_keys_of_one_transaction_must_share_a_slot(client: slotwise.Client, tag: Any) -> None:
    p = client.pipeline(transaction=True)
    p.set(tag("a"), 1).set("{elsewhere}.b", 1)
    with pytest.raises(slotwise.CrossSlotError):
        p.execute()
    assert client.get(tag("a")) is None
    with pytest.raises(slotwise.InvalidArgumentError):
        p.multi()
        p.multi()


def test_register_script_loads_where_noscript(client: slotwise.Client, tag: Any) -> None:
    script = client.register_script(INCRBY)
    assert script(keys=[tag("n")], args=[5]) == 5
    # Every node forgets it (as a new primary after a failover never had it).
    client.execute("SCRIPT", "FLUSH")
    assert client.execute("SCRIPT", "EXISTS", "0" * 40) == [0]
    assert script(keys=[tag("n")], args=[2]) == 7
    ro = client.register_script("return redis.call('GET', KEYS[1])", read_only=True)
    assert ro(keys=[tag("n")]) == b"7"
    with pytest.raises(slotwise.ResponseError):
        client.register_script("return redis.call('NOPE')")(keys=[tag("n")])
    with pytest.raises(TypeError):
        client.register_script(42)  # type: ignore[arg-type]


def test_async_transaction_and_script(seeds: list, tag: Any) -> None:
    async def run() -> None:
        async with await slotwise.AsyncClient.cluster(seeds) as c:
            async with c.pipeline(transaction=True) as p:
                await p.watch(tag("v"))
                assert await p.get(tag("v")) is None
                p.multi()
                p.set(tag("v"), "x").incr(tag("c"))
                assert await p.execute() == [True, 1]
            async with c.pipeline(transaction=True) as p:
                await p.watch(tag("v"))
                await c.set(tag("v"), "changed")
                p.multi()
                p.set(tag("v"), "mine")
                with pytest.raises(slotwise.WatchError):
                    await p.execute()
            assert await c.get(tag("v")) == b"changed"
            script = c.register_script(INCRBY)
            assert await script(keys=[tag("s")], args=[3]) == 3

    asyncio.run(run())
