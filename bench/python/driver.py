"""One Python client's run for `make bench` (bench/run.py starts one process per run, so peak
RSS is that client's alone). GET/SET 80/20 on the keys bench/run.py preloaded; prints one JSON
line: ops, errors, seconds, ops_per_sec, p50_us, p99_us. Not a test.

    python bench/python/driver.py --client slotwise-async --seeds H:P,H:P --concurrency 50 --size 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, Awaitable, Callable, List, Tuple

KEYS = 10_000
CLIENTS = ("slotwise-sync", "redis-py-sync", "slotwise-async", "redis-py-async", "valkey-glide")


def key_of(prefix: str, i: int) -> str:
    return f"{prefix}{(i * 7919) % KEYS}"


FIRST_ERROR: List[str] = []


def failed(e: BaseException) -> None:
    if not FIRST_ERROR:
        FIRST_ERROR.append(f"{type(e).__name__}: {e}"[:200])


def summary(lat_ns: List[int], errors: int, seconds: float) -> dict:
    lat_ns.sort()

    def pct(p: float) -> float:
        return lat_ns[round((len(lat_ns) - 1) * p)] / 1000 if lat_ns else 0.0

    return {"ops": len(lat_ns), "errors": errors, "seconds": round(seconds, 3),
            "ops_per_sec": len(lat_ns) / seconds, "p50_us": pct(0.5), "p99_us": pct(0.99),
            "first_error": FIRST_ERROR[0] if FIRST_ERROR else None}


def run_sync(get: Callable[[str], Any], set_: Callable[[str, bytes], Any], prefix: str,
             value: bytes, seconds: float) -> dict:
    lat: List[int] = []
    errors, i = 0, 0
    clock = time.perf_counter_ns
    start = clock()
    end = start + int(seconds * 1e9)
    while True:
        t = clock()
        if t >= end:
            break
        k = key_of(prefix, i)
        try:
            set_(k, value) if i % 5 == 0 else get(k)
            lat.append(clock() - t)
        except Exception as e:  # noqa: BLE001 - a failed op is counted, the run goes on
            failed(e)
            errors += 1
        i += 1
    return summary(lat, errors, (clock() - start) / 1e9)


async def run_async(get: Callable[[str], Awaitable[Any]], set_: Callable[[str, bytes], Awaitable[Any]],
                    prefix: str, value: bytes, seconds: float, conc: int) -> dict:
    lat: List[int] = []
    errors = 0
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)

    async def worker(w: int) -> None:
        nonlocal errors
        i = w
        while True:
            t = clock()
            if t >= end:
                return
            k = key_of(prefix, i)
            try:
                await (set_(k, value) if i % 5 == 0 else get(k))
                lat.append(clock() - t)
            except Exception as e:  # noqa: BLE001
                failed(e)
                errors += 1
            i += 1

    start = clock()
    await asyncio.gather(*(worker(w) for w in range(conc)))
    return summary(lat, errors, (clock() - start) / 1e9)


def host_port(seed: str) -> Tuple[str, int]:
    host, port = seed.rsplit(":", 1)
    return host, int(port)


async def async_client(name: str, seeds: List[str]) -> Tuple[Any, Callable[[], Awaitable[None]]]:
    host, port = host_port(seeds[0])
    if name == "slotwise-async":
        import slotwise
        c = await slotwise.AsyncClient.cluster(seeds)

        async def close() -> None:
            c.close()
        return c, close
    if name == "redis-py-async":
        from redis.asyncio.cluster import RedisCluster
        r = RedisCluster(host=host, port=port)
        await r.initialize()
        return r, r.aclose
    from glide import GlideClusterClient, GlideClusterClientConfiguration, NodeAddress
    g = await GlideClusterClient.create(GlideClusterClientConfiguration([NodeAddress(*host_port(s)) for s in seeds]))
    return g, g.close


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=CLIENTS, required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--size", type=int, default=100)
    a = ap.parse_args()
    seeds = a.seeds.split(",")
    prefix, value = f"bench:{a.size}:", b"x" * a.size
    if a.client == "slotwise-sync":
        import slotwise
        c = slotwise.Client.cluster(seeds)
        out = run_sync(c.get, c.set, prefix, value, a.seconds)
        c.close()
    elif a.client == "redis-py-sync":
        from redis.cluster import RedisCluster
        r = RedisCluster(host=host_port(seeds[0])[0], port=host_port(seeds[0])[1])
        out = run_sync(r.get, r.set, prefix, value, a.seconds)
        r.close()
    else:
        async def go() -> dict:
            c, close = await async_client(a.client, seeds)
            res = await run_async(c.get, c.set, prefix, value, a.seconds, a.concurrency)
            await close()
            return res
        out = asyncio.run(go())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
