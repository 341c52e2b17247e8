"""`make demo`: a real loopback Redis Cluster, a live workload through slotwise (the Rust core)
and, side by side, redis-py with its defaults, through a scripted bad day: a graceful failover,
a primary SIGKILL (the node then comes back as a replica), a scale-in (slots moved off a
primary, the node forgotten and stopped) and every node moved to a new IP. A live display
shows ops/s, errors and slotwise's topology version; the end is a summary table and a
timeline chart (bench/results/demo.svg). Stops every server it started, also on Ctrl-C.

Needs redis-server and redis-cli (the Makefile builds the Rust side). Installs nothing: when
redis-py is missing it says how to get it (`make bench-deps`) and runs slotwise alone.
DEMO_PAUSE sets the seconds of calm between events (default 5).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from common import REPO, RESULTS, Child, harness, last_json
from recovery import ev_failover, ev_kill, ev_new_ips, ev_scale_in, setup_scale_in, shard, state
from svg import timeline_svg

PAUSE = float(os.environ.get("DEMO_PAUSE", "5"))
RATE = "300"
RUST = REPO / "target" / "release" / "examples" / "recovery_driver"
BENCH_PY = REPO / "target" / "benchenv" / "bin" / "python"
TTY = sys.stdout.isatty()


def peer_python() -> Optional[str]:
    """The benchmark venv's python when it has redis-py, else None (with how to get it)."""
    if BENCH_PY.exists():
        ok = Child([str(BENCH_PY), "-c", "import redis"]).finish(timeout=30)["rc"] == 0
        if ok:
            return str(BENCH_PY)
    print("  peer client redis-py is not installed; `make bench-deps` installs it (into target/benchenv,\n"
          "  with valkey-glide and ioredis for the benchmarks). Running slotwise alone.\n")
    return None


def ev_kill_and_return(d: Dict[str, Any], ctx: Any) -> None:
    p = shard(d)[0]
    ev_kill(d, ctx)
    harness.restart_node(d["dir"], p["index"])  # back as a replica of its successor
    harness.wait_ok(d["dir"])


STEPS = [("graceful failover", ev_failover), ("primary SIGKILL", ev_kill_and_return),
         ("scale-in", ev_scale_in), ("every node on a new IP", ev_new_ips)]


def ticks(k: Child) -> Tuple[int, int, str]:
    """The last TICK of a driver: ok ops, errors, topology version."""
    for line in reversed(k.peek().splitlines()):
        f = line.split()
        if len(f) == 5 and f[0] == "TICK":
            return int(f[2]), int(f[3]), f[4]
    return 0, 0, "-"


class Display:
    def __init__(self, kids: Dict[str, Child]):
        self.kids, self.last = kids, {n: (0, time.monotonic()) for n in kids}
        self.lines = 0
        self.step, self.what, self.t0 = 0, "warming up", time.monotonic()

    def draw(self) -> None:
        done = self.step / len(STEPS)
        bar = "#" * int(done * 30) + "." * (30 - int(done * 30))
        out = [f"  [{bar}] {self.step}/{len(STEPS)} {self.what:<28} t={time.monotonic() - self.t0:5.1f}s"]
        for name, k in self.kids.items():
            ok, err, topo = ticks(k)
            prev, at = self.last[name]
            rate = (ok - prev) / max(1e-3, time.monotonic() - at)
            self.last[name] = (ok, time.monotonic())
            topo_s = f"topology v{topo}" if topo != "-" else ""
            out.append(f"  {name:<18} ops/s {rate:>7,.0f}   total {ok:>8,}   errors {err:>5}   {topo_s}")
        if TTY:
            sys.stdout.write((f"\x1b[{self.lines}F" if self.lines else "") + "\n".join(l + "\x1b[K" for l in out) + "\n")
            self.lines = len(out)
        else:
            sys.stdout.write(" | ".join(s.strip() for s in out) + "\n")
        sys.stdout.flush()

    def say(self, msg: str) -> None:
        """A line above the live block."""
        if TTY and self.lines:
            sys.stdout.write(f"\x1b[{self.lines}F\x1b[J")
            self.lines = 0
        print(msg, flush=True)


def wait(disp: Display, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        disp.draw()
        time.sleep(min(1.0 if TTY else 2.0, max(0.0, end - time.monotonic())) or 0.01)


def main() -> int:
    for tool in ("redis-server", "redis-cli"):
        if not shutil.which(tool):
            print(f"make demo needs {tool} (Debian/Ubuntu: apt-get install redis-server)")
            return 1
    if not RUST.exists():
        print(f"{RUST} is missing: cargo build --release -p slotwise --example recovery_driver")
        return 1
    print("slotwise demo: a 3-primary/3-replica Redis Cluster on 127.0.0.x, plus a 4th primary to scale in")
    peer = peer_python()
    d = harness.start_cluster(3, 1)
    kids: Dict[str, Child] = {}
    marks: List[Tuple[str, float, float]] = []
    try:
        ctx = setup_scale_in(d)
        seeds = ",".join(state(d)["seeds"])
        kids["slotwise (rust)"] = Child([str(RUST), "--seeds", seeds, "--rate", RATE, "--label", "demo-slotwise"])
        if peer:
            kids["redis-py"] = Child([peer, str(REPO / "bench" / "python" / "recovery_driver.py"), "--client", "redis-py",
                                      "--seeds", seeds, "--rate", RATE, "--label", "demo-redis-py"])
        deadline = time.monotonic() + 30
        while not all("READY" in k.peek() for k in kids.values()):
            if time.monotonic() > deadline or any(k.poll() for k in kids.values()):
                print("a client did not start:", {n: k.finish(5)["stderr"][-300:] for n, k in kids.items()})
                return 1
            time.sleep(0.05)
        t_start = time.time()
        print(f"  workload: {RATE} unique SET+GET pairs/s per client, 16 loops, 32 hash tags over every shard\n")
        disp = Display(kids)
        wait(disp, PAUSE)
        for i, (what, ev) in enumerate(STEPS):
            disp.what = what
            disp.say(f"  >> {what} ...")
            t0 = time.time()
            try:
                ev(d, ctx)
                disp.say(f"  >> {what}: cluster ok again after {time.time() - t0:.2f} s")
            except Exception as e:  # noqa: BLE001 - the demo goes on and says what failed
                disp.say(f"  >> {what} failed: {type(e).__name__}: {e}")
            marks.append((what, t0 - t_start, time.time() - t_start))
            disp.step = i + 1
            wait(disp, PAUSE)
        disp.what = "reading back every acked write"
        disp.draw()
        for k in kids.values():
            k.proc.stdin.write(b"stop\n")  # type: ignore[union-attr]
            k.proc.stdin.flush()  # type: ignore[union-attr]
        results = {n: last_json(k.finish(timeout=120)["stdout"]) for n, k in kids.items()}
        summary(results, marks, t_start)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        for k in kids.values():
            if not k.poll():
                k.proc.kill()
                k.finish(timeout=5)
        harness.stop(d["dir"])
        print("cluster stopped.")


def summary(results: Dict[str, Optional[Dict[str, Any]]], marks: List[Tuple[str, float, float]], t_start: float) -> None:
    print(f"\n  {'client':<18}" + "".join(f"{w[:22]:>24}" for w, _, _ in marks) + f"{'acked':>9}{'lost':>6}{'recovered':>11}")
    series = {}
    for name, r in results.items():
        if r is None:
            print(f"  {name:<18} (no result: the client crashed)")
            continue
        tl = r["timeline"]
        cells = []
        for j, (_, a, _) in enumerate(marks):
            b = marks[j + 1][1] if j + 1 < len(marks) else float("inf")
            failed = sum(e for t, _, e in tl if a <= t - t_start < b)
            cells.append(f"{failed} failed")
        print(f"  {name:<18}" + "".join(f"{c:>24}" for c in cells) + f"{r['acked']:>9}{r['lost']:>6}{'yes' if r['recovered'] else 'NO':>11}")
        series[name] = [(t - t_start, ok * 10.0, e * 10.0) for t, ok, e in tl]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "demo.svg"
    out.write_text(timeline_svg("make demo: ops/s and errors/s per client", series, marks))
    print(f"\n  failed = operations that returned an error between this event and the next; lost = acknowledged"
          f"\n  writes not read back at the end; timeline chart: {out.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
