"""`make bench`: slotwise against its peers on one 3x1 loopback cluster, in one run, interleaved.

Rows: Rust core vs `redis-benchmark --cluster`; Python sync (one op at a time) slotwise vs
redis-py; Python asyncio slotwise vs redis-py asyncio vs valkey-glide; Node slotwise vs ioredis
vs valkey-glide; at 1, 50 and 500 in flight (sync: 1), 100 B and 4 KB values, GET/SET 80/20.
Every client runs in its own process (bench/{python,node}/driver.py|js, the `throughput`
example) so its peak RSS is its own. ROUNDS short rounds, the order of clients rotating each
round; medians reported with the spread, each figure also as a ratio to the best peer in its row.
Results: bench/results/throughput.{json,md} and the README section between the bench markers.

    make bench                 # 7 min on 2 cores (156 runs of 1.5 s plus start-up)
    QUICK=1 make bench         # one 1 s round, 100 B only (~1.3 min)
    BENCH_ONLY=python make bench      # rust, python-sync, python-async, node (comma list)
    BENCH_ROUNDS=5 BENCH_SECONDS=3 make bench

Not a test: nothing here gates CI. A peer that is not installed is reported as skipped.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from common import (NODE_DEPS, REPO, RUST_DRIVER, Child, fmt_ratio, harness, have_node_peer,
                    have_python_module, have_tool, last_json, log, machine, md_table, median,
                    ratio, update_readme, write_results)

QUICK = os.environ.get("QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if QUICK else "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1" if QUICK else "1.5"))
SIZES = [100] if QUICK else [100, 4096]
CONCS = [1, 50, 500]
ONLY = [g for g in os.environ.get("BENCH_ONLY", "").split(",") if g]
PY = sys.executable
PY_DRIVER = str(REPO / "bench" / "python" / "driver.py")
NODE_DRIVER = str(REPO / "bench" / "node" / "driver.js")


class Client:
    def __init__(self, name: str, ours: bool, available: Callable[[], Optional[str]],
                 run: Callable[[List[str], int, int], Dict[str, Any]]):
        self.name, self.ours, self.available, self.run = name, ours, available, run


def driver(argv: List[str], env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    res = Child(argv, env).finish(timeout=SECONDS + 60)
    out = last_json(res["stdout"])
    if res["rc"] != 0 or out is None:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed (rc {res['rc']}): {res['stderr'][-500:]}")
    out["rss_mb"] = res["rss_mb"]
    return out


def common_args(seeds: List[str], conc: int, size: int) -> List[str]:
    return ["--seeds", ",".join(seeds), "--seconds", str(SECONDS), "--concurrency", str(conc),
            "--size", str(size)]


_rb_rate: Dict[Any, float] = {}


def redis_benchmark(seeds: List[str], conc: int, size: int) -> Dict[str, Any]:
    """GET and SET runs of `redis-benchmark --cluster`, combined as an 80/20 mix: ops/s from the
    mean time per op; p50/p99 are the slower of GET's and SET's (an upper bound for the mix)."""
    host, port = seeds[0].rsplit(":", 1)
    # No duration option: size -n from the last rate seen so a run lasts about SECONDS.
    n = int(max(2_000, _rb_rate.get((conc, size), 10_000 if conc == 1 else 60_000) * SECONDS))
    res = Child(["redis-benchmark", "--cluster", "-h", host, "-p", port, "-t", "get,set", "-c", str(conc),
                 "-n", str(n), "-d", str(size), "-r", "10000", "--csv"]).finish(timeout=SECONDS * 20 + 60)
    rows: Dict[str, List[float]] = {}
    for line in res["stdout"].splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) == 8 and cells[0] in ("GET", "SET"):
            rows[cells[0]] = [float(c) for c in cells[1:]]
    if res["rc"] != 0 or set(rows) != {"GET", "SET"}:
        raise RuntimeError(f"redis-benchmark failed (rc {res['rc']}): {res['stdout'][-300:]} {res['stderr'][-300:]}")
    get, set_ = rows["GET"], rows["SET"]
    rate = 1.0 / (0.8 / get[0] + 0.2 / set_[0])
    _rb_rate[(conc, size)] = rate
    return {"ops_per_sec": rate, "errors": 0, "p50_us": max(get[3], set_[3]) * 1000,
            "p99_us": max(get[5], set_[5]) * 1000, "rss_mb": res["rss_mb"]}


def py_client(name: str, module: str, ours: bool) -> Client:
    return Client(name, ours,
                  lambda: None if have_python_module(module) else f"python module {module} not installed (make bench-deps)",
                  lambda s, c, z: driver([PY, PY_DRIVER, "--client", name.replace(" ", "-"), *common_args(s, c, z)]))


def node_client(name: str, package: str, ours: bool) -> Client:
    def available() -> Optional[str]:
        if not have_tool("node"):
            return "node not installed"
        if package != "slotwise" and not have_node_peer(package):
            return f"npm package {package} not in {NODE_DEPS} (make bench-deps)"
        if package == "slotwise" and not list((REPO / "bindings" / "node").glob("*.node")):
            return "the slotwise Node addon is not built (make node)"
        return None
    env = {"BENCH_NODE_DEPS": str(NODE_DEPS)}
    return Client(f"{name} (node)", ours, available,
                  lambda s, c, z: driver(["node", NODE_DRIVER, "--client", name, *common_args(s, c, z)], env))


GROUPS: Dict[str, Dict[str, Any]] = {
    "rust": {"title": "Rust core vs redis-benchmark (C)", "concs": CONCS, "clients": [
        Client("slotwise (rust)", True, lambda: None if RUST_DRIVER.exists() else "cargo build --release -p slotwise --example throughput",
               lambda s, c, z: driver([str(RUST_DRIVER), *common_args(s, c, z)])),
        Client("redis-benchmark", False, lambda: None if have_tool("redis-benchmark") else "redis-benchmark not installed",
               redis_benchmark)]},
    "python-sync": {"title": "Python sync, one operation at a time", "concs": [1], "clients": [
        py_client("slotwise-sync", "slotwise", True), py_client("redis-py-sync", "redis", False)]},
    "python-async": {"title": "Python asyncio", "concs": CONCS, "clients": [
        py_client("slotwise-async", "slotwise", True), py_client("redis-py-async", "redis", False),
        py_client("valkey-glide", "glide", False)]},
    "node": {"title": "Node", "concs": CONCS, "clients": [
        node_client("slotwise", "slotwise", True), node_client("ioredis", "ioredis", False),
        node_client("valkey-glide", "@valkey/valkey-glide", False)]},
}

METRICS = [("ops_per_sec", "ops/s", "{:,.0f}"), ("p50_us", "p50 µs", "{:,.0f}"), ("p99_us", "p99 µs", "{:,.0f}"),
           ("rss_mb", "peak RSS MB", "{:.0f}")]


def summarize(samples: Dict[str, List[Dict[str, Any]]], ours: Dict[str, bool]) -> Dict[str, Any]:
    """Medians (and min/max) per client and metric; ratios against the best peer of the row
    (highest ops/s; lowest latency and RSS)."""
    med = {c: {m: median([s[m] for s in ss]) for m, _, _ in METRICS} for c, ss in samples.items() if ss}
    out: Dict[str, Any] = {}
    for c, ss in samples.items():
        if not ss:
            continue
        entry: Dict[str, Any] = {"rounds": len(ss), "errors": sum(int(s.get("errors", 0)) for s in ss),
                                 "first_error": next((s["first_error"] for s in ss if s.get("first_error")), None)}
        for m, _, _ in METRICS:
            peers = [med[p][m] for p in med if not ours[p]]
            best = (max if m == "ops_per_sec" else min)(peers) if peers else None
            vals = [s[m] for s in ss]
            entry[m] = {"median": med[c][m], "min": min(vals), "max": max(vals), "vs_best_peer": ratio(med[c][m], best)}
        out[c] = entry
    return out


def markdown(results: Dict[str, Any], meta: Dict[str, Any]) -> str:
    parts = [f"Throughput and latency, GET/SET 80/20 on a 3×1 loopback cluster; medians of {ROUNDS} "
             f"round(s) of {SECONDS:g} s, spread min–max; ×peer = ratio to the best peer in the row "
             f"(ops/s: higher is better; latency and RSS: lower is better). Command: `{meta['command']}`."]
    for g, rows in results["groups"].items():
        parts.append(f"\n**{GROUPS[g]['title']}**\n")
        table = []
        for row in rows:
            for c, e in row["clients"].items():
                cells = [str(row["concurrency"]), f"{row['size']} B", c]
                for m, _, f in METRICS:
                    v = e[m]
                    spread = f" ({f.format(v['min'])}–{f.format(v['max'])})" if m == "ops_per_sec" else ""
                    cells += [f.format(v["median"]) + spread, fmt_ratio(v["vs_best_peer"])]
                cells.append(str(e["errors"]))
                table.append(cells)
            for c, why in row["skipped"].items():
                table.append([str(row["concurrency"]), f"{row['size']} B", c, f"skipped: {why}"] + [""] * 8)
        hdr = ["in flight", "value", "client"]
        for _, label, _ in METRICS:
            hdr += [label, "×peer"]
        parts.append(md_table(hdr + ["errors"], table))
    errs = [f"{c} ({g}, {row['concurrency']} in flight, {row['size']} B): {e['first_error']}"
            for g, rows in results["groups"].items() for row in rows for c, e in row["clients"].items() if e.get("first_error")]
    if errs:
        parts.append("\nFirst error seen per client with errors: " + "; ".join(errs))
    if results.get("failures"):
        parts.append("\nRuns that failed: " + "; ".join(results["failures"]))
    return "\n".join(parts)


def main() -> None:
    groups = {g: v for g, v in GROUPS.items() if not ONLY or g in ONLY}
    missing = {c.name: c.available() for v in groups.values() for c in v["clients"]}
    for c, why in missing.items():
        if why:
            log(f"skipping {c}: {why}")
    rust_ok = missing.get("slotwise (rust)") is None and RUST_DRIVER.exists()
    log(f"bench: {ROUNDS} round(s) x {SECONDS:g} s, sizes {SIZES}, groups {list(groups)}")
    d = harness.start_cluster(3, 1)
    started = time.monotonic()
    failures: List[str] = []
    try:
        seeds = d["seeds"]
        for size in SIZES:  # preload every key of each size once (GETs then read real values)
            if rust_ok:
                driver([str(RUST_DRIVER), "--seeds", ",".join(seeds), "--size", str(size), "--preload"])
        rows = [(g, conc, size) for g, v in groups.items() for size in SIZES for conc in v["concs"]]
        samples: Dict[Any, Dict[str, List[Dict[str, Any]]]] = {
            r: {c.name: [] for c in groups[r[0]]["clients"] if not missing[c.name]} for r in rows}
        for rnd in range(ROUNDS):
            for g, conc, size in rows:
                clients = [c for c in groups[g]["clients"] if not missing[c.name]]
                k = rnd % max(1, len(clients))
                for c in clients[k:] + clients[:k]:  # rotate who goes first
                    try:
                        s = c.run(seeds, conc, size)
                    except (RuntimeError, OSError) as e:
                        failures.append(f"{c.name} c={conc} {size}B: {e}")
                        log(f"  FAILED {c.name}: {e}")
                        continue
                    samples[(g, conc, size)][c.name].append(s)
                    log(f"  round {rnd + 1} {g:<12} c={conc:<3} {size:>4} B  {c.name:<22} "
                        f"{s['ops_per_sec']:>10,.0f} ops/s  p50 {s['p50_us']:>7,.0f} µs  p99 {s['p99_us']:>7,.0f} µs  "
                        f"rss {s['rss_mb']:.0f} MB  errors {s.get('errors', 0)}")
        ours = {c.name: c.ours for v in groups.values() for c in v["clients"]}
        results: Dict[str, Any] = {"groups": {g: [] for g in groups}, "failures": failures}
        for g, conc, size in rows:
            results["groups"][g].append({
                "concurrency": conc, "size": size, "clients": summarize(samples[(g, conc, size)], ours),
                "skipped": {c.name: missing[c.name] for c in groups[g]["clients"] if missing[c.name]}})
    finally:
        harness.stop(d["dir"])
    meta = {"command": "make bench" + (" QUICK=1" if QUICK else ""), "rounds": ROUNDS, "seconds": SECONDS,
            "sizes": SIZES, "duration_s": round(time.monotonic() - started, 1),
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **machine()}
    results["meta"] = meta
    md = markdown(results, meta)
    write_results("throughput", results, md)
    if not ONLY:
        update_readme("bench-throughput", md)
    print(md)


if __name__ == "__main__":
    main()
