"""Many callers on one client: 1,000 concurrent awaits, 8 threads sharing one sync client."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import slotwise
from test_errors import BUSY_SCRIPT


def test_thousand_concurrent_awaits(seeds: list, key: Any) -> None:
    async def run() -> None:
        async with await slotwise.AsyncClient.cluster(seeds) as r:
            keys = [key(f"c{i}") for i in range(1000)]
            assert await asyncio.gather(*(r.set(k, i) for i, k in enumerate(keys))) == [True] * 1000
            got = await asyncio.gather(*(r.get(k) for k in keys))
            assert got == [str(i).encode() for i in range(1000)]
            counter = key("counter")
            results = await asyncio.gather(*(r.incr(counter) for _ in range(1000)))
            assert sorted(results) == list(range(1, 1001))

    asyncio.run(run())


def test_eight_threads_share_one_sync_client(client: slotwise.Client, key: Any) -> None:
    counter = key("counter")
    errors: List[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(250):
                k = key(f"t{t}:{i}")
                client.set(k, i)
                assert client.get(k) == str(i).encode()
                client.incr(counter)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    assert client.get(counter) == b"2000"


def test_gil_is_released_while_waiting(client: slotwise.Client) -> None:
    """A blocked call (a server-side sleep) must not stop other Python threads."""
    ticks = 0
    done = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            done.wait(0.01)

    th = threading.Thread(target=ticker)
    th.start()
    try:
        client.execute("EVAL", BUSY_SCRIPT, 0, 300)
    finally:
        done.set()
        th.join()
    assert ticks >= 10
