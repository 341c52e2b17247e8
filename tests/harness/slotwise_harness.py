#!/usr/bin/env python3
"""Start and stop real Redis deployments for slotwise tests (stdlib only, Python >= 3.9).

Every test suite (Rust, Python, Node, C) drives real servers through this one file, either as
a CLI (every command prints one JSON document on stdout, logs go to stderr) or by importing it.
Deployments live under $SLOTWISE_HARNESS_ROOT (default /tmp/slotwise-harness); each one is a
directory holding state.json and one sub-directory per node (redis.log, and nodes.conf,
redis.conf or sentinel.conf). The implementation is in the `swh` package beside this file.

Only loopback addresses (127.0.0.0/8) are ever used. Ports are picked at random in 12000-21999
(cluster bus = port + 10000, both below the kernel's ephemeral range) and checked free; a
machine-wide registry (under a file lock) keeps parallel deployments from picking the same
ports or IP blocks, even while one of their nodes is down.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from swh.cluster import add_node, start_cluster  # noqa: E402
from swh.ops import info, kill_node, restart_node, start_standalone, wait_ok  # noqa: E402
from swh.procs import ROOT, HarnessError, log, stop, stop_all  # noqa: E402
from swh.resp import Conn, RespError, parse_cluster_nodes, parse_info  # noqa: E402,F401
from swh.sentinel import start_sentinel  # noqa: E402

__all__ = ["start_cluster", "start_standalone", "start_sentinel", "add_node", "stop", "stop_all",
           "kill_node", "restart_node", "wait_ok", "info", "Conn", "RespError", "HarnessError",
           "parse_info", "parse_cluster_nodes", "main"]


TLS_HELP = ("TLS-only nodes (no plain port) with certificates made by openssl; clients must "
            "show the client certificate. The state's 'tls' names ca, cert, key, untrusted_ca")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="slotwise_harness.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("start-cluster", help="start a cluster; prints its state")
    c.add_argument("--primaries", type=int, default=3)
    c.add_argument("--replicas", type=int, default=1)
    c.add_argument("--ips", choices=["distinct", "shared"], default="distinct")
    c.add_argument("--ip-base", help="first node IP (default: a free 127.A.B.11 block)")
    c.add_argument("--node-timeout-ms", type=int, default=1000)
    c.add_argument("--announce-ip", help="address every node announces (also bound)")
    c.add_argument("--announce-port-offset", type=int, default=0,
                   help="nodes announce PORT+K to clients (nothing listens there: NAT tests)")
    c.add_argument("--announce-hostnames", action="store_true",
                   help="nodes announce node-I.slotwise.invalid as their endpoint")
    c.add_argument("--requirepass")
    c.add_argument("--user", action="append", metavar="NAME:PASS")
    c.add_argument("--tls", action="store_true", help=TLS_HELP)
    c.add_argument("--timeout", type=float, default=30.0)
    c.add_argument("--dir")

    s = sub.add_parser("start-standalone", help="start one server; prints its state")
    s.add_argument("--ip", default="127.0.0.1")
    s.add_argument("--requirepass")
    s.add_argument("--user", action="append", metavar="NAME:PASS")
    s.add_argument("--tls", action="store_true", help=TLS_HELP)
    s.add_argument("--timeout", type=float, default=30.0)
    s.add_argument("--dir")

    se = sub.add_parser("start-sentinel", help="start a primary, replicas and sentinels")
    se.add_argument("--replicas", type=int, default=2)
    se.add_argument("--sentinels", type=int, default=3)
    se.add_argument("--quorum", type=int, help="default: a majority of the sentinels")
    se.add_argument("--service", default="mymaster")
    se.add_argument("--down-after-ms", type=int, default=1000)
    se.add_argument("--failover-timeout-ms", type=int, default=3000)
    se.add_argument("--ips", choices=["distinct", "shared"], default="distinct")
    se.add_argument("--ip-base")
    se.add_argument("--requirepass")
    se.add_argument("--user", action="append", metavar="NAME:PASS")
    se.add_argument("--tls", action="store_true", help=TLS_HELP)
    se.add_argument("--timeout", type=float, default=30.0)
    se.add_argument("--dir")

    st = sub.add_parser("stop", help="stop a deployment and remove its dir (idempotent)")
    st.add_argument("--dir", required=True)
    st.add_argument("--keep", action="store_true", help="keep the directory (logs)")

    sa = sub.add_parser("stop-all", help="stop every deployment under the harness root")
    sa.add_argument("--root", default=ROOT)

    k = sub.add_parser("kill-node", help="send a signal to one node")
    k.add_argument("--dir", required=True)
    k.add_argument("--index", type=int, required=True)
    k.add_argument("--signal", default="KILL", help="KILL, STOP, CONT or TERM")

    r = sub.add_parser("restart-node", help="restart a node with its nodes.conf")
    r.add_argument("--dir", required=True)
    r.add_argument("--index", type=int, required=True)
    r.add_argument("--ip", help="new loopback IP to bind, or 'auto' for a free one")
    r.add_argument("--timeout", type=float, default=30.0)

    a = sub.add_parser("add-node", help="start an empty node and MEET it into the cluster")
    a.add_argument("--dir", required=True)
    a.add_argument("--replica-of", type=int, help="index of the primary to replicate")
    a.add_argument("--ip")
    a.add_argument("--timeout", type=float, default=30.0)

    w = sub.add_parser("wait-ok", help="wait until the live nodes form a healthy deployment")
    w.add_argument("--dir", required=True)
    w.add_argument("--timeout", type=float, default=30.0)

    i = sub.add_parser("info", help="print the deployment's state")
    i.add_argument("--dir", required=True)
    i.add_argument("--live", action="store_true", help="re-read roles from running nodes")

    args = ap.parse_args(argv)
    try:
        if args.cmd == "start-cluster":
            out = start_cluster(args.primaries, args.replicas, args.ips, args.ip_base,
                                args.node_timeout_ms, args.announce_ip,
                                args.announce_port_offset, args.announce_hostnames,
                                args.requirepass, args.user, args.timeout, args.dir,
                                args.tls)
        elif args.cmd == "start-standalone":
            out = start_standalone(args.ip, args.requirepass, args.user, args.timeout, args.dir,
                                   args.tls)
        elif args.cmd == "start-sentinel":
            out = start_sentinel(args.replicas, args.sentinels, args.quorum, args.service,
                                 args.down_after_ms, args.failover_timeout_ms, args.ips,
                                 args.ip_base, args.requirepass, args.user, args.timeout,
                                 args.dir, args.tls)
        elif args.cmd == "stop":
            out = stop(args.dir, args.keep)
        elif args.cmd == "stop-all":
            out = stop_all(args.root)
        elif args.cmd == "kill-node":
            out = kill_node(args.dir, args.index, args.signal)
        elif args.cmd == "restart-node":
            out = restart_node(args.dir, args.index, args.ip, args.timeout)
        elif args.cmd == "add-node":
            out = add_node(args.dir, args.replica_of, args.ip, args.timeout)
        elif args.cmd == "wait-ok":
            out = wait_ok(args.dir, args.timeout)
        else:
            out = info(args.dir, args.live)
    except (HarnessError, RespError, OSError) as e:
        msg = f"{type(e).__name__}: {e}" if not isinstance(e, HarnessError) else str(e)
        log("error: " + msg)
        print(json.dumps({"error": msg}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
