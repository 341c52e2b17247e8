"""Building a cluster over RESP, and growing it."""

from __future__ import annotations

import os
import time

from .health import wait_healthy
from .nodes import (check_password, connect, free_ip, make_node, new_state, parse_users,
                    pick_hosts, port_offsets, public_node, public_state, seeds_of, start_nodes)
from .procs import (BUS_OFFSET, TOTAL_SLOTS, HarnessError, check_loopback, load_state, locked,
                    log, node_at, pick_ports, proc_alive, registry_lock, registry_write, reserved,
                    save_state, stop)
from .resp import RespError
from .tls import make_tls


def start_cluster(primaries: int = 3, replicas: int = 1, ips: str = "distinct",
                  ip_base: str | None = None, node_timeout_ms: int = 1000,
                  announce_ip: str | None = None, announce_port_offset: int = 0,
                  announce_hostnames: bool = False, requirepass: str | None = None,
                  users=None, timeout: float = 30.0, dir: str | None = None,
                  tls: bool = False) -> dict:
    if primaries < 1 or replicas < 0 or primaries * (replicas + 1) > 200:
        raise HarnessError("need 1 <= primaries and 0 <= replicas, at most 200 nodes")
    if announce_ip:
        announce_ip = check_loopback(announce_ip)
    options = {"node_timeout_ms": node_timeout_ms, "ips": ips, "announce_ip": announce_ip,
               "announce_port_offset": announce_port_offset,
               "announce_hostnames": announce_hostnames,
               "requirepass": check_password(requirepass), "users": parse_users(users)}
    t0 = time.monotonic()
    deadline = t0 + timeout
    state = new_state("cluster", options, dir)
    total = primaries * (replicas + 1)
    try:
        if tls:
            options["tls"] = make_tls(state)
        with registry_lock():
            taken_ports, taken_ips, blocks = reserved()
            hosts = pick_hosts(state, total, ips, ip_base, taken_ips, blocks)
            offsets = (BUS_OFFSET,) + ((announce_port_offset,) if announce_port_offset else ())
            ports = pick_ports(total, taken_ports, offsets)
            for i in range(total):
                if i < primaries:
                    node = make_node(state, i, hosts[i], ports[i], "primary")
                else:
                    node = make_node(state, i, hosts[i], ports[i], "replica",
                                     (i - primaries) // replicas)
                state["nodes"].append(node)
            registry_write(state)
            start_nodes(state, state["nodes"], deadline)
            registry_write(state)
        build_cluster(state, deadline)
        state["seeds"] = seeds_of(state)
        save_state(state)
    except BaseException:
        stop(state["dir"])
        raise
    log(f"cluster {primaries}x{replicas} ready in {time.monotonic() - t0:.2f}s at {state['dir']}")
    return public_state(state)


def build_cluster(state: dict, deadline: float) -> None:
    """ADDSLOTSRANGE + MEET + REPLICATE over RESP, then wait until every node agrees."""
    nodes = state["nodes"]
    prim = [n for n in nodes if n["role"] == "primary"]
    conns = {n["index"]: connect(state, n) for n in nodes}
    try:
        for n in nodes:
            n["id"] = conns[n["index"]].call("CLUSTER", "MYID")
        for i, n in enumerate(prim):
            c = conns[n["index"]]
            # Distinct epochs up front spare the cluster its epoch-collision round.
            c.call("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            lo, hi = i * TOTAL_SLOTS // len(prim), (i + 1) * TOTAL_SLOTS // len(prim) - 1
            c.call("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        # One MEET per pair (i < j): every node learns every other without waiting for gossip.
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                conns[a["index"]].call("CLUSTER", "MEET", b["host"], b["port"], b["bus_port"])
        pending = [n for n in nodes if n["role"] == "replica"]
        while pending:
            for n in list(pending):
                try:
                    conns[n["index"]].call("CLUSTER", "REPLICATE", nodes[n["primary_index"]]["id"])
                    pending.remove(n)
                except RespError as e:
                    if "Unknown node" not in str(e):
                        raise
            if pending:
                if time.monotonic() > deadline:
                    raise HarnessError("replicas never learned their primary: " + ", ".join(
                        str(n["index"]) for n in pending))
                time.sleep(0.01)
        save_state(state)
    finally:
        for c in conns.values():
            c.close()
    wait_healthy(state, deadline, expect_roles=True)


def add_node(dir: str, replica_of: int | None = None, ip: str | None = None,
             timeout: float = 30.0) -> dict:
    """Start an empty cluster node and MEET it in (as a replica of REPLICA_OF if given)."""
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        if state["kind"] != "cluster":
            raise HarnessError("add-node works on clusters only")
        deadline = time.monotonic() + timeout
        with registry_lock():
            if ip:
                host = check_loopback(ip)
            elif state["options"].get("ips") == "shared":
                host = "127.0.0.1"
            else:
                host = free_ip(state)
            taken = reserved()[0] | {n["port"] for n in state["nodes"]}
            port = pick_ports(1, taken, port_offsets(state))[0]
            role = "replica" if replica_of is not None else "primary"
            node = make_node(state, len(state["nodes"]), host, port, role, replica_of)
            state["nodes"].append(node)
            start_nodes(state, [node], deadline)
            registry_write(state)
        live = next(n for n in state["nodes"] if n is not node and proc_alive(n))
        with connect(state, node) as c, connect(state, live) as other:
            node["id"] = c.call("CLUSTER", "MYID")
            other.call("CLUSTER", "MEET", host, port, node["bus_port"])
            if replica_of is not None:
                primary_id = node_at(state, replica_of)["id"]
                while True:
                    try:
                        c.call("CLUSTER", "REPLICATE", primary_id)
                        break
                    except RespError as e:
                        if "Unknown node" not in str(e) or time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)
        state["seeds"] = seeds_of(state)
        save_state(state)
    return public_node(state, node)
