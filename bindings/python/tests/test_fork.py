"""Fork safety: in a forked child the parent's clients fail clearly (never hang) and new
clients work. Each child reports through its exit status; the parent bounds the wait."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import traceback
from typing import Any, Callable

import slotwise


def run_in_child(body: Callable[[], None], timeout: float = 30.0) -> None:
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            signal.alarm(int(timeout))  # a hang in the child ends it, never the suite
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout + 5
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child failed: {status}"
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("forked child hung")


def test_fork_old_client_fails_clearly_new_client_works(seeds: list, key: Any) -> None:
    parent = slotwise.Client.cluster(seeds)
    parent.set(key("before"), "1")

    async def make_async() -> slotwise.AsyncClient:
        return await slotwise.AsyncClient.cluster(seeds)

    loop = asyncio.new_event_loop()
    parent_async = loop.run_until_complete(make_async())

    def child() -> None:
        t0 = time.monotonic()
        try:
            parent.get(key("before"))
            raise AssertionError("the parent's client worked in the child")
        except slotwise.ClosedError as e:
            assert "another process (fork)" in str(e), e
            assert e.kind == "CLOSED" and e.may_have_run is False
        try:
            parent.pipeline().get(key("before")).execute()
            raise AssertionError("the parent's pipeline worked in the child")
        except slotwise.ClosedError:
            pass

        async def use_parent_async() -> None:
            try:
                await parent_async.get(key("before"))
                raise AssertionError("the parent's async client worked in the child")
            except slotwise.ClosedError:
                pass

        asyncio.run(use_parent_async())
        assert time.monotonic() - t0 < 2, "failing must be immediate"

        with slotwise.Client.cluster(seeds) as fresh:
            assert fresh.get(key("before")) == b"1"
            fresh.set(key("child"), "2")

        async def fresh_async() -> None:
            async with await slotwise.AsyncClient.cluster(seeds) as a:
                assert await a.get(key("child")) == b"2"

        asyncio.run(fresh_async())

    run_in_child(child)
    # The parent is unaffected by the child.
    assert parent.get(key("child")) == b"2"
    assert loop.run_until_complete(parent_async.get(key("before"))) == b"1"
    parent_async.close()
    loop.close()
    parent.close()


def test_fork_after_the_parent_dropped_its_client(seeds: list, key: Any) -> None:
    """A parent that used and dropped a client (its runtime lives on) forks: the child works."""
    c = slotwise.Client.cluster(seeds)
    c.close()
    del c

    def child() -> None:
        with slotwise.Client.cluster(seeds) as r:
            assert r.incr(key("n")) == 1

    run_in_child(child)
