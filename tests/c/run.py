#!/usr/bin/env python3
"""Runs a C test program of libslotwise against real servers (stdlib only).

Starts a 3x1 cluster and a Sentinel deployment through the harness, passes their addresses to
the program in SLOTWISE_TEST_* variables, runs it (optionally under valgrind), and stops the
deployments even when the program fails or hangs. Exits with the program's exit code.

    python3 tests/c/run.py [--valgrind] [--timeout S] PROGRAM
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "harness", "slotwise_harness.py")


def harness(*args: str) -> dict:
    out = subprocess.run([sys.executable, HARNESS, *args], stdout=subprocess.PIPE, text=True)
    doc = json.loads(out.stdout or "{}")
    if out.returncode != 0:
        raise RuntimeError(f"harness {args[0]} failed: {doc.get('error', out.returncode)}")
    return doc


def shell(cmd: list[str], sub: str) -> str:
    """A shell line running harness subcommand `sub` with cmd's arguments, output discarded."""
    return " ".join(shlex.quote(a) for a in [cmd[0], cmd[1], sub, *cmd[2:]]) + " >/dev/null 2>&1"


def addr(node: dict) -> str:
    return f"{node['host']}:{node['port']}"


def run(cmd: list[str], env: dict, timeout: float, label: str) -> int:
    """Runs `cmd`, echoing its output, and closes with one "LABEL: N passed, M failed" line
    that also counts a failure the program could not see (valgrind errors, a crash, a hang)."""
    counts = None
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    watchdog = threading.Timer(timeout, kill)
    watchdog.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = re.fullmatch(r"(\d+) passed, (\d+) failed\s*", line)
        if m:
            counts = (int(m.group(1)), int(m.group(2)))
    rc = proc.wait()
    watchdog.cancel()
    if killed.is_set():
        print(f"run.py: killed after {timeout:.0f}s", flush=True)
        rc = rc or 1
    passed, failed = counts if counts else (0, 0)
    if rc != 0 and failed == 0:
        failed = 1  # the program's own checks passed, but the run did not (exit code)
        print(f"run.py: exit code {rc} although every check passed", flush=True)
    print(f"{label}: {passed} passed, {failed} failed", flush=True)
    return 0 if rc == 0 and failed == 0 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("program")
    ap.add_argument("--valgrind", action="store_true")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before the run is killed")
    args = ap.parse_args()

    started: list[str] = []
    try:
        t0 = time.monotonic()
        cluster = harness("start-cluster", "--primaries", "3", "--replicas", "1")
        started.append(cluster["dir"])
        sentinel = harness("start-sentinel", "--replicas", "1", "--sentinels", "3")
        started.append(sentinel["dir"])
        tls_password = "c-Old-Pw-17"
        tls = harness("start-standalone", "--tls", "--user", f"app:{tls_password}")
        started.append(tls["dir"])
        print(f"run.py: deployments ready in {time.monotonic() - t0:.1f}s", flush=True)

        nodes = cluster["nodes"]
        replica = next(n for n in nodes if n["role"] == "replica")
        primary = nodes[replica["primary_index"]]
        env = dict(os.environ)
        env.update({
            "SLOTWISE_TEST_SEEDS": ",".join(cluster["seeds"]),
            "SLOTWISE_TEST_REPLICA": addr(replica),
            "SLOTWISE_TEST_REPLICA_OF": addr(primary),
            "SLOTWISE_TEST_SENTINELS": ",".join(sentinel["seeds"]),
            "SLOTWISE_TEST_SERVICE": sentinel.get("service", "mymaster"),
        })
        env.update({
            "SLOTWISE_TEST_TLS_ADDR": tls["seeds"][0],
            "SLOTWISE_TEST_TLS_CA": tls["tls"]["ca"],
            "SLOTWISE_TEST_TLS_UNTRUSTED_CA": tls["tls"]["untrusted_ca"],
            "SLOTWISE_TEST_TLS_CERT": tls["tls"]["cert"],
            "SLOTWISE_TEST_TLS_KEY": tls["tls"]["key"],
            "SLOTWISE_TEST_TLS_PASSWORD": tls_password,
            "SLOTWISE_TEST_TLS_KILL": " ".join(shlex.quote(a) for a in [
                "redis-cli", "-h", tls["nodes"][0]["host"], "-p", str(tls["nodes"][0]["port"]),
                "--tls", "--cacert", tls["tls"]["ca"], "--cert", tls["tls"]["cert"],
                "--key", tls["tls"]["key"], "CLIENT", "KILL", "USER", "app"]) + " >/dev/null",
        })
        victim = [n for n in sentinel["nodes"] if n["role"] == "sentinel"][-1]
        node_cmd = [sys.executable, HARNESS, "--dir", sentinel["dir"], "--index", str(victim["index"])]
        env.update({
            "SLOTWISE_TEST_SENTINEL_VICTIM": addr(victim),
            "SLOTWISE_TEST_SENTINEL_KILL": shell(node_cmd, "kill-node"),
            "SLOTWISE_TEST_SENTINEL_RESTART": shell(node_cmd, "restart-node"),
        })
        cmd = [os.path.abspath(args.program)]
        if args.valgrind:
            env["SLOTWISE_TEST_SLOW"] = "1"
            # Only definite leaks fail the run. The runtime is process-wide and never shut
            # down (blocking.rs leaks it on purpose, for fork safety), so its worker threads
            # are alive at exit: their stacks' TLS and the pool's bookkeeping show up as
            # "possibly lost" / "still reachable", which is expected and not suppressed (the
            # summary still counts them); a definite leak or any memory error is a failure.
            vg = ["valgrind", "--error-exitcode=1", "--leak-check=full",
                  "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                  "--track-origins=yes", "--fair-sched=yes",
                  "--suppressions=" + os.path.join(HERE, "valgrind.supp")]
            cmd = vg + cmd
        print("run.py: " + " ".join(cmd), flush=True)
        return run(cmd, env, args.timeout, "valgrind" if args.valgrind else "c-tests")
    finally:
        for d in reversed(started):
            try:
                harness("stop", "--dir", d)
            except Exception as e:  # noqa: BLE001 - stopping the rest matters more
                print(f"run.py: stopping {d}: {e}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
