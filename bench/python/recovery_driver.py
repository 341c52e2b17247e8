"""One client through `make bench-recovery`'s bad day (bench/recovery.py runs one process per
client and variant, all at once, through the same injected event).

The workload: one paced loop per hash tag (TAGS of them, spread over every shard, so a stall on
one shard holds up only its own loops), RATE SET+GET pairs/s in total: SET of a unique key with
a unique value, then a GET of it. It prints READY
once connected, runs until a line arrives on stdin, then reads back every acknowledged write
with the same client (no restart) and prints one JSON line: the per-100 ms timeline (wall
clock), failed ops, per-tag recovery, acknowledged writes and how many of them were lost.

    python bench/python/recovery_driver.py --client slotwise --mode cluster --seeds H:P,H:P
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

CLIENTS = ("slotwise", "redis-py", "valkey-glide")
TAGS = 32
WORKERS = TAGS  # worker w always uses hash tag w
OP_TIMEOUT = 10.0  # the bench's own bound, so a client that hangs still reports (as a failure)


def host_port(seed: str) -> Tuple[str, int]:
    host, port = seed.rsplit(":", 1)
    return host, int(port)


async def connect(name: str, variant: str, mode: str, seeds: List[str], service: str) -> Tuple[Any, Callable[[], Awaitable[Any]]]:
    """The client with its defaults, or ('tuned') with the resilience options its docs recommend."""
    tuned = variant == "tuned"
    if name == "slotwise":
        import slotwise
        c = await (slotwise.AsyncClient.sentinel(seeds, service) if mode == "sentinel" else slotwise.AsyncClient.cluster(seeds))

        async def close() -> None:
            c.close()
        return c, close
    if name == "redis-py":
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import ConnectionError as RConnErr, TimeoutError as RTimeout
        opts: Dict[str, Any] = {}
        if tuned:  # redis-py's docs: a Retry with exponential backoff, bounded socket timeouts
            opts = {"retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), 6),
                    "retry_on_error": [RConnErr, RTimeout], "socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        if mode == "sentinel":
            from redis.asyncio.sentinel import Sentinel
            s = Sentinel([host_port(x) for x in seeds], **({"socket_timeout": 1.0} if tuned else {}))
            m = s.master_for(service, **opts)

            async def close_m() -> None:
                await m.aclose()
            return m, close_m
        from redis.asyncio.cluster import ClusterNode, RedisCluster
        r = RedisCluster(startup_nodes=[ClusterNode(*host_port(x)) for x in seeds], **opts)
        await r.initialize()
        return r, r.aclose
    from glide import BackoffStrategy, GlideClusterClient, GlideClusterClientConfiguration, NodeAddress
    gopts: Dict[str, Any] = {}
    if tuned:  # glide's docs: a bounded request timeout and a reconnect backoff
        gopts = {"request_timeout": 1000, "reconnect_strategy": BackoffStrategy(num_of_retries=8, factor=20, exponent_base=2)}
    g = await GlideClusterClient.create(GlideClusterClientConfiguration([NodeAddress(*host_port(x)) for x in seeds], **gopts))
    return g, g.close


class Tally:
    def __init__(self) -> None:
        self.buckets: Dict[int, List[int]] = defaultdict(lambda: [0, 0])
        self.tag_buckets: Dict[Tuple[int, int], List[int]] = defaultdict(lambda: [0, 0])
        self.failed = 0
        self.first_error: Optional[str] = None
        self.errors: Dict[str, int] = defaultdict(int)
        self.last_err: Dict[int, float] = {}
        self.ok_after: Dict[int, Optional[float]] = {}
        self.first_err_t: Optional[float] = None
        self.last_err_t: Optional[float] = None

    def ok(self, tag: int) -> None:
        t = time.time()
        self.buckets[int(t * 10)][0] += 1
        self.tag_buckets[(tag, int(t * 10))][0] += 1
        if tag in self.last_err and self.ok_after.get(tag) is None:
            self.ok_after[tag] = t

    def err(self, tag: int, e: BaseException) -> None:
        t = time.time()
        self.buckets[int(t * 10)][1] += 1
        self.tag_buckets[(tag, int(t * 10))][1] += 1
        self.failed += 1
        msg = f"{type(e).__name__}: {e}"[:160]
        self.errors[type(e).__name__] += 1
        self.first_error = self.first_error or msg
        self.first_err_t = self.first_err_t or t
        self.last_err_t = t
        self.last_err[tag] = t
        self.ok_after[tag] = None


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=CLIENTS, required=True)
    ap.add_argument("--variant", choices=("default", "tuned"), default="default")
    ap.add_argument("--mode", choices=("cluster", "sentinel"), default="cluster")
    ap.add_argument("--seeds", required=True, help="cluster nodes, or sentinels in Sentinel mode")
    ap.add_argument("--service", default="mymaster")
    ap.add_argument("--rate", type=float, default=800.0)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    c, close = await connect(a.client, a.variant, a.mode, a.seeds.split(","), a.service)
    label = a.label or f"{a.client}-{a.variant}"
    tally, acked = Tally(), []
    stop = asyncio.Event()
    interval = WORKERS / a.rate

    async def worker(w: int) -> None:
        n, nxt = 0, time.monotonic()
        while not stop.is_set():
            tag = w
            key, value = f"rec:{label}:{{t{tag}}}:{w}:{n}", f"{w}:{n}"
            n += 1
            try:
                await asyncio.wait_for(c.set(key, value), OP_TIMEOUT)
                acked.append((key, value))
                tally.ok(tag)
                got = await asyncio.wait_for(c.get(key), OP_TIMEOUT)
                if got is None or (got.decode() if isinstance(got, bytes) else str(got)) != value:
                    raise RuntimeError("read-your-write: wrong value")
                tally.ok(tag)
            except Exception as e:  # noqa: BLE001 - a failed op is what we measure
                tally.err(tag, e)
            nxt += interval
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            nxt = max(nxt, time.monotonic() - 1.0)  # after a stall, do not burst to catch up

    await c.set(f"rec:{label}:ready", "1")
    print("READY", flush=True)
    tasks = [asyncio.create_task(worker(w)) for w in range(WORKERS)]

    async def ticker() -> None:  # for live displays (bench/demo.py): totals every 250 ms
        while not stop.is_set():
            await asyncio.sleep(0.25)
            ok = sum(v[0] for v in tally.buckets.values())
            print(f"TICK {time.time():.3f} {ok} {tally.failed} -", flush=True)
    tasks.append(asyncio.create_task(ticker()))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    await asyncio.gather(*tasks)

    # Read back every acknowledged write, with the same client, after the dust settled.
    lost, unreadable = 0, 0
    sem = asyncio.Semaphore(64)

    async def check(key: str, value: str) -> None:
        nonlocal lost, unreadable
        async with sem:
            for attempt in range(3):
                try:
                    got = await asyncio.wait_for(c.get(key), OP_TIMEOUT)
                    if got is None or (got.decode() if isinstance(got, bytes) else str(got)) != value:
                        lost += 1
                    return
                except Exception:  # noqa: BLE001
                    await asyncio.sleep(0.2 * (attempt + 1))
            unreadable += 1

    await asyncio.gather(*(check(k, v) for k, v in acked))
    recovered = all(tally.ok_after.get(t) is not None for t in tally.last_err)
    served_again = max((t for t in tally.ok_after.values() if t is not None), default=None) if tally.last_err else None
    out = {"label": label, "client": a.client, "variant": a.variant, "failed": tally.failed,
           "errors_by_type": dict(tally.errors), "first_error": tally.first_error,
           "first_error_t": tally.first_err_t, "last_error_t": tally.last_err_t,
           "served_again_t": served_again, "recovered": recovered, "acked": len(acked),
           "lost": lost, "unreadable": unreadable,
           "timeline": sorted([k / 10, v[0], v[1]] for k, v in tally.buckets.items()),
           "tag_timeline": sorted([k[0], k[1] / 10, v[0], v[1]] for k, v in tally.tag_buckets.items())}
    print(json.dumps(out), flush=True)
    await close()


if __name__ == "__main__":
    asyncio.run(main())
