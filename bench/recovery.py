"""`make bench-recovery`: the bad day, measured for slotwise and its peers through the SAME event.

For each scenario a fresh loopback deployment is started, every client (one process each:
bench/python/recovery_driver.py, bench/node/recovery_driver.js; peers with their defaults and
with the resilience options their docs recommend) runs a paced unique-write workload, one event
is injected, and once the deployment is healthy again and has settled every client stops and
reads back each write it had acknowledged. Per client and scenario: failed operations, error
window, time until every shard (hash tag) is served again after the cluster itself was ok,
recovered without a restart, acknowledged writes lost. One SVG timeline per scenario.

Scenarios: failover (graceful CLUSTER FAILOVER), kill (primary SIGKILL), new-ips (every node
restarted on a new IP, rolling: replica first, then a failover, then the old primary),
scale-in (slots moved off a primary, the node forgotten and its process stopped), sentinel
(SENTINEL FAILOVER; glide has no Sentinel support).

    make bench-recovery                     # ~3.5 min
    QUICK=1 make bench-recovery             # failover, kill and sentinel only (~1.5 min)
    BENCH_SCENARIOS=kill,scale-in make bench-recovery

Not a test: nothing here gates CI.
"""

from __future__ import annotations

import binascii
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from common import (NODE_DEPS, REPO, RESULTS, Child, harness, have_node_peer, have_python_module,
                    have_tool, last_json, log, machine, md_table, update_readme, write_results)
from svg import timeline_svg

QUICK = os.environ.get("QUICK", "") not in ("", "0")
ALL = ["failover", "kill", "new-ips", "scale-in", "sentinel"]
SCENARIOS = [s for s in os.environ.get("BENCH_SCENARIOS", "").split(",") if s] or (
    ["failover", "kill", "sentinel"] if QUICK else ALL)
WARMUP = 3.0
SETTLE = 3.0 if QUICK else 5.0
RATE = os.environ.get("BENCH_RATE", "200")  # SET+GET pairs/s per client (several run at once on 2 cores)
PY = sys.executable


def clients() -> List[Dict[str, Any]]:
    py = [PY, str(REPO / "bench" / "python" / "recovery_driver.py")]
    node = ["node", str(REPO / "bench" / "node" / "recovery_driver.js")]
    rust = [str(REPO / "target" / "release" / "examples" / "recovery_driver")]
    out = [{"label": "slotwise (rust)", "argv": rust, "sentinel": True, "need": "rust"},
           {"label": "slotwise (python)", "argv": py + ["--client", "slotwise"], "sentinel": True, "need": "slotwise"}]
    for v in ("default", "tuned"):
        out += [{"label": f"redis-py {v}", "argv": py + ["--client", "redis-py", "--variant", v], "sentinel": True, "need": "redis"},
                {"label": f"valkey-glide {v}", "argv": py + ["--client", "valkey-glide", "--variant", v], "sentinel": False, "need": "glide"},
                {"label": f"ioredis {v}", "argv": node + ["--client", "ioredis", "--variant", v], "sentinel": True, "need": "npm:ioredis"}]
    for c in out:
        need = c["need"]
        if need == "rust":
            c["missing"] = None if Path(rust[0]).exists() else "cargo build --release -p slotwise --example recovery_driver"
            continue
        c["missing"] = (None if (have_node_peer(need[4:]) and have_tool("node")) else f"{need[4:]} not installed (make bench-deps)") \
            if need.startswith("npm:") else (None if have_python_module(need) else f"python {need} not installed (make bench-deps)")
    return out


# ---- the deployment and its events ----------------------------------------------------------

def conn(node: Dict[str, Any]) -> Any:
    return harness.Conn(node["host"], node["port"], timeout=2.0)


def call(node: Dict[str, Any], *args: Any) -> Any:
    with conn(node) as c:
        return c.call(*args)


def until(what: str, pred: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except (OSError, ConnectionError, harness.RespError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def is_master(node: Dict[str, Any]) -> bool:
    role = call(node, "ROLE")
    return bool(role) and text(role[0]) == "master"


def state(d: Dict[str, Any]) -> Dict[str, Any]:
    return harness.info(d["dir"], live=True)


def shard(d: Dict[str, Any], primary: int = 0) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    nodes = state(d)["nodes"]
    p = next(n for n in nodes if n["role"] == "primary" and n["alive"] and n["index"] >= primary)
    r = next(n for n in nodes if n["role"] == "replica" and n["primary_index"] == p["index"] and n["alive"])
    return p, r


def slots_of(d: Dict[str, Any], node: Dict[str, Any]) -> List[Tuple[int, int]]:
    """The slot ranges NODE serves, as the node itself reports them."""
    me = next(n for n in harness.parse_cluster_nodes(text(call(node, "CLUSTER", "NODES"))) if "myself" in n["flags"])
    out = []
    for r in me["slots"].split():
        a, _, b = r.partition("-")
        out.append((int(a), int(b or a)))
    return out


def failover_to(d: Dict[str, Any], replica: Dict[str, Any]) -> None:
    call(replica, "CLUSTER", "FAILOVER")
    until("the replica to take over", lambda: is_master(replica))


def ev_failover(d: Dict[str, Any], _: Any) -> None:
    failover_to(d, shard(d)[1])
    harness.wait_ok(d["dir"])


def ev_kill(d: Dict[str, Any], _: Any) -> None:
    p, r = shard(d)
    harness.kill_node(d["dir"], p["index"], "KILL")
    until("the replica to be promoted", lambda: is_master(r))
    harness.wait_ok(d["dir"])


def move(d: Dict[str, Any], node: Dict[str, Any]) -> None:
    """Restarts NODE on a new loopback IP (its nodes.conf and port kept) and waits for health."""
    moved = harness.restart_node(d["dir"], node["index"], "auto")
    harness.wait_ok(d["dir"])
    if not is_master(moved):
        until("the moved replica to catch up",
              lambda: "master_link_status:up" in text(call(moved, "INFO", "replication")))


def ev_new_ips(d: Dict[str, Any], _: Any) -> None:
    """Rolling, as an orchestrator does it without losing data (no persistence here): replicas
    move first; a primary hands over to its (moved) replica before it moves."""
    done: set = set()
    while True:
        live = [n for n in state(d)["nodes"] if n["alive"] and n["index"] not in done]
        if not live:
            return
        node = next((n for n in live if not is_master(n)), live[0])
        if is_master(node):
            role = call(node, "ROLE")
            addrs = {(text(r[0]), int(text(r[1]))) for r in role[2]}
            replica = next((n for n in state(d)["nodes"] if n["alive"] and (n["host"], n["port"]) in addrs), None)
            if replica is None:
                raise RuntimeError(f"primary {node['host']}:{node['port']} has no live replica to hand over to")
            failover_to(d, replica)
            harness.wait_ok(d["dir"])
        move(d, node)
        done.add(node["index"])


def redis_cli(*args: str) -> str:
    out = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args[:3])}: {out.stdout[-400:]} {out.stderr[-400:]}")
    return out.stdout


def setup_scale_in(d: Dict[str, Any]) -> Dict[str, Any]:
    """Before the workload: a fourth primary holding 200 slots taken from primary 0."""
    new = harness.add_node(d["dir"])
    harness.wait_ok(d["dir"])
    p = shard(d)[0]
    redis_cli("--cluster", "reshard", f"{p['host']}:{p['port']}", "--cluster-from", p["id"],
              "--cluster-to", new["id"], "--cluster-slots", "200", "--cluster-yes")
    harness.wait_ok(d["dir"])
    return {"new": new}


def ev_scale_in(d: Dict[str, Any], ctx: Dict[str, Any]) -> None:
    new = ctx["new"]
    p = next(n for n in state(d)["nodes"] if n["alive"] and n["index"] != new["index"] and is_master(n))
    redis_cli("--cluster", "reshard", f"{p['host']}:{p['port']}", "--cluster-from", new["id"],
              "--cluster-to", p["id"], "--cluster-slots", "200", "--cluster-yes")
    redis_cli("--cluster", "del-node", f"{p['host']}:{p['port']}", new["id"])  # FORGET + SHUTDOWN
    harness.kill_node(d["dir"], new["index"], "KILL")  # make sure the process is gone
    harness.wait_ok(d["dir"])


def ev_sentinel(d: Dict[str, Any], _: Any) -> None:
    st = state(d)
    sentinel = next(n for n in st["nodes"] if n["role"] == "sentinel")
    service = st.get("service") or "mymaster"

    def master() -> str:
        h, p = call(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", service)
        return f"{text(h)}:{text(p)}"
    old = master()
    call(sentinel, "SENTINEL", "FAILOVER", service)
    until("Sentinel to name a new master", lambda: master() != old)
    h, p = master().rsplit(":", 1)
    until("the new master to take writes", lambda: is_master({"host": h, "port": int(p)}))
    harness.wait_ok(d["dir"])


EVENTS: Dict[str, Dict[str, Any]] = {
    # "affected": the slots whose shard the event hits (for the other shards' throughput).
    "failover": {"title": "graceful failover (CLUSTER FAILOVER)", "event": ev_failover,
                 "affected": lambda d, ctx: slots_of(d, shard(d)[0])},
    "kill": {"title": "primary SIGKILL", "event": ev_kill, "affected": lambda d, ctx: slots_of(d, shard(d)[0])},
    "new-ips": {"title": "every node on a new IP (rolling)", "event": ev_new_ips},
    "scale-in": {"title": "scale-in (slots moved off, node forgotten and stopped)", "event": ev_scale_in, "setup": setup_scale_in,
                 "affected": lambda d, ctx: slots_of(d, ctx["new"])},
    "sentinel": {"title": "Sentinel failover (SENTINEL FAILOVER)", "event": ev_sentinel, "sentinel": True},
}


# ---- one scenario ------------------------------------------------------------------------------

def wait_ready(kids: Dict[str, Child], timeout: float = 30.0) -> Dict[str, str]:
    """Labels of the clients that failed to start, with why."""
    deadline, failed = time.monotonic() + timeout, {}
    pending = dict(kids)
    while pending and time.monotonic() < deadline:
        for label, k in list(pending.items()):
            if "READY" in k.peek():
                del pending[label]
            elif k.poll():
                failed[label] = "exited before READY"
                del pending[label]
        time.sleep(0.05)
    failed.update({label: "not READY in 30 s" for label in pending})
    return failed


def run_scenario(name: str, cl: List[Dict[str, Any]]) -> Dict[str, Any]:
    spec = EVENTS[name]
    sentinel = spec.get("sentinel", False)
    d = harness.start_sentinel(2, 3) if sentinel else harness.start_cluster(3, 1)
    try:
        ctx = spec["setup"](d) if "setup" in spec else None
        st = state(d)
        if sentinel:
            seeds, mode = [f"{n['host']}:{n['port']}" for n in st["nodes"] if n["role"] == "sentinel"], "sentinel"
        else:
            seeds, mode = st["seeds"], "cluster"
        use = [c for c in cl if not c["missing"] and (c["sentinel"] or not sentinel)]
        env = {"BENCH_NODE_DEPS": str(NODE_DEPS)}
        kids = {c["label"]: Child(c["argv"] + ["--mode", mode, "--seeds", ",".join(seeds), "--rate", RATE,
                                               "--label", c["label"].replace(" ", "-") + "-" + name], env) for c in use}
        affected = spec["affected"](d, ctx) if "affected" in spec else None
        t_start = time.time()
        not_ready = wait_ready(kids)
        time.sleep(WARMUP)
        log(f"{name}: {len(kids) - len(not_ready)} clients running; injecting the event")
        t_event = time.time()
        event_error = None
        try:
            spec["event"](d, ctx)
        except Exception as e:  # noqa: BLE001 - reported with the results, the clients still stop cleanly
            event_error = f"{type(e).__name__}: {e}"
            log(f"{name}: the event failed: {event_error}")
        t_ok = time.time()
        log(f"{name}: cluster ok again {t_ok - t_event:.2f} s after the event began; settling {SETTLE:g} s")
        time.sleep(SETTLE)
        t_stop = time.time()
        rows: Dict[str, Any] = {}
        for label, k in kids.items():
            try:
                k.proc.stdin.write(b"stop\n")  # type: ignore[union-attr]
                k.proc.stdin.flush()  # type: ignore[union-attr]
            except OSError:
                pass
        for label, k in kids.items():
            res = k.finish(timeout=180)
            out = last_json(res["stdout"])
            if out is None:
                rows[label] = {"crashed": f"{not_ready.get(label, '')} rc {res['rc']}: {res['stderr'].strip()[-300:]}".strip()}
                continue
            rows[label] = summarize(out, t_event, t_ok, t_stop, affected)
        return {"scenario": name, "title": spec["title"], "event_error": event_error,
                "cluster_ok_after_s": round(t_ok - t_event, 3), "t_start": t_start, "t_event": t_event,
                "t_ok": t_ok, "clients": rows,
                "skipped": {c["label"]: c["missing"] or "no Sentinel support" for c in cl if c not in use}}
    finally:
        harness.stop(d["dir"])


def tag_slot(tag: int) -> int:
    """The slot of the drivers' hash tag {tN} (CRC16/XMODEM, as Redis Cluster)."""
    return binascii.crc_hqx(f"t{tag}".encode(), 0) % 16384


def other_shards_share(out: Dict[str, Any], t_event: float, t_ok: float,
                       affected: Optional[List[Tuple[int, int]]]) -> Optional[float]:
    """Ok ops/s of the tags outside the hit shard while the event ran, over the 2 s before."""
    if not affected or "tag_timeline" not in out or t_ok - t_event < 0.2:
        return None
    hit = {t for t in range(64) if any(a <= tag_slot(t) <= b for a, b in affected)}
    rows = [r for r in out["tag_timeline"] if r[0] not in hit]
    before = sum(r[2] for r in rows if t_event - 2.0 <= r[1] < t_event) / 2.0
    during = sum(r[2] for r in rows if t_event <= r[1] < t_ok - 0.1) / max(0.1, t_ok - 0.1 - t_event)
    return round(during / before, 2) if before else None


def summarize(out: Dict[str, Any], t_event: float, t_ok: float, t_stop: float,
              affected: Optional[List[Tuple[int, int]]] = None) -> Dict[str, Any]:
    tl = out["timeline"]
    served = out.get("served_again_t")
    last_ok = max((t for t, ok, _ in tl if ok), default=0.0)
    return {
        "failed": out["failed"], "errors_by_type": out["errors_by_type"], "first_error": out["first_error"],
        "error_window_s": round(out["last_error_t"] - out["first_error_t"], 3) if out["first_error_t"] else 0.0,
        "served_again_after_cluster_ok_s": (round(max(0.0, served - t_ok), 3) if served else 0.0) if out["failed"] else 0.0,
        # No restart: every hash tag that failed was served again, and the client still served at the end.
        "recovered": bool(out["recovered"]) and last_ok >= t_stop - 1.0,
        "acked": out["acked"], "lost": out["lost"], "unreadable": out["unreadable"],
        "other_shards_ops_share_during_event": other_shards_share(out, t_event, t_ok, affected),
        "timeline": tl,
    }


# ---- report ----------------------------------------------------------------------------------

def markdown(results: List[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    parts = [f"Recovery, every client through the same event on a fresh loopback deployment "
             f"({RATE} paced unique SET + GET pairs per second per client); served again = after the "
             f"cluster itself was ok; lost = acknowledged writes not read back. "
             f"Command: `{meta['command']}`."]
    hdr = ["scenario", "client", "failed ops", "error window s", "served again s", "recovered", "acked", "lost", "other shards' ops/s during event (× before)"]
    table = []
    for r in results:
        for label, e in r["clients"].items():
            if "crashed" in e:
                table.append([r["scenario"], label, f"crashed: {e['crashed'][:80]}"] + [""] * 6)
                continue
            table.append([r["scenario"], label, str(e["failed"]), f"{e['error_window_s']:.2f}",
                          f"{e['served_again_after_cluster_ok_s']:.3f}", "yes" if e["recovered"] else "**no**",
                          str(e["acked"]), str(e["lost"]) + (f" (+{e['unreadable']} unreadable)" if e["unreadable"] else ""),
                          "–" if e["other_shards_ops_share_during_event"] is None else f"{e['other_shards_ops_share_during_event']:.2f}×"])
        for label, why in r["skipped"].items():
            table.append([r["scenario"], label, f"skipped: {why}"] + [""] * 6)
    parts.append(md_table(hdr, table))
    parts.append("\nCluster ok again after the event began: " + ", ".join(
        f"{r['scenario']} {r['cluster_ok_after_s']:.2f} s" + (f" (event failed: {r['event_error']})" if r["event_error"] else "")
        for r in results))
    parts.append("\nTimelines: " + ", ".join(f"`bench/results/recovery-{r['scenario']}.svg`" for r in results))
    first = [e["first_error"] for r in results for e in r["clients"].values() if e.get("first_error")]
    if first:
        parts.append("\nFirst errors seen: " + "; ".join(sorted({f"{r['scenario']}/{lbl}: {e['first_error']}" for r in results
                                                                for lbl, e in r["clients"].items() if e.get("first_error")})))
    return "\n".join(parts)


def chart(r: Dict[str, Any]) -> str:
    t0 = r["t_start"]
    series = {label: [(t - t0, ok * 10.0, err * 10.0) for t, ok, err in e["timeline"]]
              for label, e in r["clients"].items() if "timeline" in e}
    return timeline_svg(f"{r['title']}: ops/s and errors/s per client", series,
                        [("event → cluster ok", r["t_event"] - t0, r["t_ok"] - t0)])


def main() -> None:
    unknown = [s for s in SCENARIOS if s not in EVENTS]
    if unknown:
        sys.exit(f"unknown scenario(s) {unknown}; choose from {ALL}")
    cl = clients()
    for c in cl:
        if c["missing"]:
            log(f"skipping {c['label']}: {c['missing']}")
    started = time.monotonic()
    results = []
    for name in SCENARIOS:
        log(f"== {name}")
        r = run_scenario(name, cl)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"recovery-{name}.svg").write_text(chart(r))
        results.append(r)
        for label, e in r["clients"].items():
            log(f"   {label:<22} " + (f"crashed {e['crashed'][:100]}" if "crashed" in e else
                                      f"failed {e['failed']:>5}  window {e['error_window_s']:>6.2f} s  served again {e['served_again_after_cluster_ok_s']:>6.3f} s  "
                                      f"recovered {e['recovered']}  lost {e['lost']}/{e['acked']}"))
    meta = {"command": "make bench-recovery" + (" QUICK=1" if QUICK else ""), "scenarios": SCENARIOS,
            "rate_per_client": RATE, "duration_s": round(time.monotonic() - started, 1),
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **machine()}
    md = markdown(results, meta)
    write_results("recovery", {"meta": meta, "scenarios": results}, md)
    if not os.environ.get("BENCH_SCENARIOS"):
        update_readme("bench-recovery", md + "\n\n![failover timeline](bench/results/recovery-kill.svg)")
    print(md)


if __name__ == "__main__":
    main()
