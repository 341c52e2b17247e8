"""Pipelines: commands for many slots (so many nodes), replies in order, errors in place."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import slotwise


def test_pipeline_across_slots_in_order(client: slotwise.Client, key: Any) -> None:
    keys = [key(f"p{i}") for i in range(200)]  # spread over every shard
    with client.pipeline() as p:
        for i, k in enumerate(keys):
            p.set(k, i)
        for k in keys:
            p.get(k)
        p.add("INCR", keys[0])
        assert len(p) == 401
        replies = p.execute()
    assert replies[:200] == [True] * 200
    assert replies[200:400] == [str(i).encode() for i in range(200)]
    assert replies[400] == 1
    assert len(client.topology()["shards"]) == 3


def test_pipeline_chains_and_empties(client: slotwise.Client, key: Any) -> None:
    p = client.pipeline()
    assert p.execute() == []
    assert p.set(key("a"), 1).incr(key("a")).get(key("a")) is p
    assert p.execute() == [True, 2, b"2"]
    assert len(p) == 0  # execute empties the queue
    p.set(key("b"), 1)
    with p:
        pass
    assert len(p) == 0  # leaving `with` without execute discards the queue


def test_pipeline_errors_in_place(client: slotwise.Client, key: Any) -> None:
    text, counter = key("text"), key("n")
    with client.pipeline() as p:
        p.set(text, "abc").incr(text).incr(counter).hgetall(text).get(text)
        replies = p.execute(raise_on_error=False)
    assert replies[0] is True
    assert isinstance(replies[1], slotwise.ResponseError)
    assert "not an integer" in str(replies[1])
    assert replies[1].kind == "SERVER" and replies[1].may_have_run is False
    assert replies[2] == 1
    assert isinstance(replies[3], slotwise.ResponseError)  # WRONGTYPE
    assert replies[4] == b"abc"


def test_pipeline_raises_first_error_after_running_all(client: slotwise.Client, key: Any) -> None:
    text, counter = key("text"), key("n")
    client.set(text, "abc")
    with client.pipeline() as p:
        p.incr(text).incr(counter).incr(text)
        with pytest.raises(slotwise.ResponseError):
            p.execute()
    assert client.get(counter) == b"1"  # the others ran


def test_pipeline_bad_argument_raises_before_sending(client: slotwise.Client, key: Any) -> None:
    p = client.pipeline()
    p.set(key("a"), 1).add("SET", key("b"), {"not": "valid"})
    with pytest.raises(TypeError, match="argument 2"):
        p.execute()
    assert client.get(key("a")) is None


def test_async_pipeline(seeds: list, key: Any) -> None:
    async def run() -> None:
        async with await slotwise.AsyncClient.cluster(seeds) as r:
            keys = [key(f"p{i}") for i in range(100)]
            async with r.pipeline() as p:
                for i, k in enumerate(keys):
                    p.set(k, i)
                p.incr(keys[0]).incr(keys[1])
                assert (await p.execute())[-2:] == [1, 2]
            with r.pipeline() as p:
                p.add("INCR", keys[0])  # 0, INCR by the pipeline above, now 2
                p.hgetall(keys[1])
                p.get(keys[2])
                replies = await p.execute(raise_on_error=False)
            assert replies[0] == 2
            assert isinstance(replies[1], slotwise.ResponseError)
            assert replies[2] == b"2"
            p = r.pipeline()
            p.hgetall(keys[1])
            with pytest.raises(slotwise.ResponseError):
                await p.execute()

    asyncio.run(run())
