"""slotwise vs redis-py (hiredis) vs valkey-glide on one 3x1 loopback cluster, same run.

Not a test: nothing here gates CI. GET/SET 50/50 on 10,000 preloaded keys with 100-byte
values; every client runs ROUNDS short rounds, interleaved with the others, and the median
ops/s is reported with the spread (min-max) and the ratio to the best peer in its row.

    make bench-python            # builds the wheel, installs the peers into target/benchenv
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "harness" / "slotwise_harness.py"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
KEYS = 10_000
VALUE = b"x" * 100


def harness(*args: str) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def sync_run(get: Callable[[str], Any], set_: Callable[[str, bytes], Any]) -> float:
    n, i = 0, 0
    end = time.perf_counter() + SECONDS
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(100):
            k = f"key:{(i * 7919) % KEYS}"
            if i % 2:
                get(k)
            else:
                set_(k, VALUE)
            i += 1
        n += 100
    return n / (time.perf_counter() - start)


async def async_run(get: Callable[[str], Awaitable[Any]], set_: Callable[[str, bytes], Awaitable[Any]], conc: int) -> float:
    count = 0
    stop = time.perf_counter() + SECONDS

    async def worker(w: int) -> None:
        nonlocal count
        i = w
        while time.perf_counter() < stop:
            k = f"key:{(i * 7919) % KEYS}"
            await (get(k) if i % 2 else set_(k, VALUE))
            count += 1
            i += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(conc)))
    return count / (time.perf_counter() - start)


def report(title: str, results: Dict[str, List[float]]) -> List[Dict[str, Any]]:
    rows = []
    best_peer = max((statistics.median(v) for k, v in results.items() if not k.startswith("slotwise")), default=0.0)
    print(f"\n{title}")
    print(f"  {'client':<28}{'median ops/s':>14}{'min-max':>22}{'vs best peer':>14}")
    for name, v in results.items():
        med = statistics.median(v)
        ratio = med / best_peer if best_peer else float("nan")
        print(f"  {name:<28}{med:>14,.0f}{f'{min(v):,.0f}-{max(v):,.0f}':>22}{ratio:>13.2f}x")
        rows.append({"client": name, "median": med, "min": min(v), "max": max(v), "ratio_to_best_peer": ratio})
    return rows


def main() -> None:
    import redis
    import redis.asyncio.cluster as aiocluster
    import slotwise

    d = harness("start-cluster", "--primaries", "3", "--replicas", "1")
    try:
        seeds = d["seeds"]
        host, port = seeds[0].rsplit(":", 1)
        sw = slotwise.Client.cluster(seeds)
        for i in range(KEYS):
            sw.set(f"key:{i}", VALUE)
        rp = redis.cluster.RedisCluster(host=host, port=int(port))
        print(f"redis-py {redis.__version__} (hiredis: {redis.utils.HIREDIS_AVAILABLE}), slotwise {slotwise.__version__}, "
              f"{SECONDS:g} s x {ROUNDS} rounds, interleaved")

        sync: Dict[str, List[float]] = {"slotwise Client": [], "redis-py RedisCluster": []}
        for _ in range(ROUNDS):
            sync["slotwise Client"].append(sync_run(sw.get, sw.set))
            sync["redis-py RedisCluster"].append(sync_run(rp.get, rp.set))
        out = {"sync_sequential": report("sync, one operation at a time", sync)}

        async def run_async() -> None:
            from glide import GlideClusterClient, GlideClusterClientConfiguration, NodeAddress

            sa = await slotwise.AsyncClient.cluster(seeds)
            ra = aiocluster.RedisCluster(host=host, port=int(port))
            await ra.initialize()
            gl = await GlideClusterClient.create(GlideClusterClientConfiguration([NodeAddress(host, int(port))]))
            for conc in (1, 50):
                res: Dict[str, List[float]] = {"slotwise AsyncClient": [], "redis-py asyncio RedisCluster": [], "valkey-glide": []}
                for _ in range(ROUNDS):
                    res["slotwise AsyncClient"].append(await async_run(sa.get, sa.set, conc))
                    res["redis-py asyncio RedisCluster"].append(await async_run(ra.get, ra.set, conc))
                    res["valkey-glide"].append(await async_run(gl.get, gl.set, conc))
                out[f"asyncio_{conc}_concurrent"] = report(f"asyncio, {conc} concurrent", res)
            sa.close()
            await ra.aclose()
            await gl.close()

        asyncio.run(run_async())
        results = REPO / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / "python-peers.json").write_text(json.dumps(out, indent=2))
        sw.close()
        rp.close()
    finally:
        harness("stop", "--dir", d["dir"])


if __name__ == "__main__":
    main()
