"""Throughput of the Python package on a real 3x1 loopback cluster: sequential GET/SET from one
thread (sync client) and 50 concurrent asyncio tasks (async client). Not a test: it prints
numbers and gates nothing. Peers (redis-py, valkey-glide) are to be measured next to it in the
same run; until then it prints slotwise alone.

    target/pyenv/bin/python bindings/python/bench/ops.py [SECONDS]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import slotwise

HARNESS = Path(__file__).resolve().parents[3] / "tests" / "harness" / "slotwise_harness.py"
VALUE = "x" * 100


def harness(*args: str) -> dict:
    out = subprocess.run([sys.executable, str(HARNESS), *args], check=True, capture_output=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def sequential(seeds: list, seconds: float) -> float:
    with slotwise.Client.cluster(seeds) as r:
        n, i = 0, 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for _ in range(100):  # check the clock every 100 ops
                k = f"key:{i % 10_000}"
                if i % 2 == 0:
                    r.set(k, VALUE)
                else:
                    r.get(k)
                i += 1
            n += 100
        return n / seconds


async def concurrent(seeds: list, seconds: float, tasks: int) -> float:
    async with await slotwise.AsyncClient.cluster(seeds) as r:
        done = 0
        stop = time.perf_counter() + seconds

        async def worker(t: int) -> None:
            nonlocal done
            i = t
            while time.perf_counter() < stop:
                k = f"key:{(i * 7919) % 10_000}"
                if i % 2 == 0:
                    await r.set(k, VALUE)
                else:
                    await r.get(k)
                done += 1
                i += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(t) for t in range(tasks)))
        return done / (time.perf_counter() - t0)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    d = harness("start-cluster", "--primaries", "3", "--replicas", "1")
    try:
        seeds = d["seeds"]
        with slotwise.Client.cluster(seeds) as r:
            with r.pipeline() as p:
                for i in range(10_000):
                    p.set(f"key:{i}", VALUE)
                p.execute()
        seq = sequential(seeds, seconds)
        conc = asyncio.run(concurrent(seeds, seconds, 50))
        print(f"slotwise sync sequential GET/SET: {seq:,.0f} ops/s")
        print(f"slotwise asyncio 50 concurrent GET/SET: {conc:,.0f} ops/s")
    finally:
        harness("stop", "--dir", d["dir"])


if __name__ == "__main__":
    main()
