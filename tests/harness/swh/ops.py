"""Standalone servers and the commands shared by every kind: signals, restarts, waits, info."""

from __future__ import annotations

import os
import signal
import time

from .health import wait_healthy
from .nodes import (announced_addr, check_password, connect, free_ip, make_node, new_state,
                    parse_users, public_node, public_state, seeds_of, start_nodes)
from .procs import (HarnessError, check_loopback, load_state, locked, log, node_at, pick_ports,
                    proc_alive, proc_is, registry_lock, registry_write, reserved, save_state, stop,
                    wait_gone, wait_state, wait_unlocked)
from .resp import RespError, parse_info
from .tls import make_tls


def start_standalone(ip: str = "127.0.0.1", requirepass: str | None = None, users=None,
                     timeout: float = 30.0, dir: str | None = None, tls: bool = False) -> dict:
    ip = check_loopback(ip)
    options = {"requirepass": check_password(requirepass), "users": parse_users(users)}
    state = new_state("standalone", options, dir)
    try:
        if tls:
            options["tls"] = make_tls(state)
        with registry_lock():
            taken_ports = reserved()[0]
            node = make_node(state, 0, ip, pick_ports(1, taken_ports, ())[0], "primary")
            state["nodes"].append(node)
            registry_write(state)
            start_nodes(state, state["nodes"], time.monotonic() + timeout)
            registry_write(state)
        with connect(state, node) as c:
            node["id"] = parse_info(c.call("INFO", "server")).get("run_id", "")
        state["seeds"] = [f"{node['host']}:{node['port']}"]
        save_state(state)
    except BaseException:
        stop(state["dir"])
        raise
    return public_state(state)


def wait_ok(dir: str, timeout: float = 30.0) -> dict:
    """Waits without holding the deployment's lock (a test may signal nodes meanwhile), then
    records the roles it saw for nodes that are still the same processes."""
    seen = load_state(dir)
    try:
        wait_healthy(seen, time.monotonic() + timeout)
    finally:
        with locked(os.path.join(dir, ".lock")):
            state = load_state(dir)
            for n, m in zip(state["nodes"], seen["nodes"]):
                if (n["pid"], n["starttime"]) == (m["pid"], m["starttime"]):
                    n["role"], n["primary_index"] = m["role"], m["primary_index"]
            save_state(state)
    return public_state(state)


SIGNALS = {"KILL": signal.SIGKILL, "STOP": signal.SIGSTOP, "CONT": signal.SIGCONT,
           "TERM": signal.SIGTERM}


def kill_node(dir: str, index: int, sig: str = "KILL") -> dict:
    sig = sig.upper().removeprefix("SIG")
    if sig not in SIGNALS:
        raise HarnessError(f"--signal is one of {', '.join(SIGNALS)}")
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        node = node_at(state, index)
        if not proc_is(node):
            if sig in ("KILL", "TERM"):
                return public_node(state, node)  # already gone: idempotent
            raise HarnessError(f"node {index} is not running")
        if sig in ("KILL", "TERM"):
            os.kill(node["pid"], signal.SIGCONT)
        os.kill(node["pid"], SIGNALS[sig])
        if sig in ("KILL", "TERM") and wait_gone([node["pid"]], 10.0):
            raise HarnessError(f"node {index} (pid {node['pid']}) did not exit after SIG{sig}")
        if sig == "STOP":
            wait_state(node["pid"], ("T", "t"))
    return public_node(state, node)


def restart_node(dir: str, index: int, ip: str | None = None, timeout: float = 30.0) -> dict:
    """Start node INDEX again with its nodes.conf and port, optionally bound to another IP."""
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        node = node_at(state, index)
        if proc_is(node):
            os.kill(node["pid"], signal.SIGCONT)
            os.kill(node["pid"], signal.SIGKILL)
            wait_gone([node["pid"]], 5.0)
        if state["kind"] == "cluster":
            wait_unlocked(os.path.join(node["dir"], "nodes.conf"), 10.0)
        with registry_lock():
            if ip == "auto":
                ip = free_ip(state)
            if ip:
                ip = check_loopback(ip)
                if state["options"].get("ips") == "shared" and ip != node["host"]:
                    log("note: shared-IP deployment, node moves to its own IP")
                taken_ips = reserved()[1] - {n["host"] for n in state["nodes"]}
                if ip in taken_ips:
                    raise HarnessError(f"{ip} is used by another deployment")
                node["host"] = ip
            node["fixed_port"] = True  # the cluster knows the node by its port
            try:
                start_nodes(state, [node], time.monotonic() + timeout)
            finally:
                node.pop("fixed_port", None)
            registry_write(state)
        state["seeds"] = seeds_of(state)
        save_state(state)
    return public_node(state, node)


def info(dir: str, live: bool = False) -> dict:
    """The recorded state; with LIVE, roles are first re-read from the running nodes."""
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        if live:
            for n in state["nodes"]:
                if not proc_alive(n):
                    continue
                try:
                    with connect(state, n, 0.5) as c:
                        role = c.call("ROLE")
                except (OSError, ConnectionError, RespError):
                    continue
                if role[0] == "sentinel":
                    continue
                if role[0] == "master":
                    n["role"], n["primary_index"] = "primary", None
                else:
                    n["role"] = "replica"
                    n["primary_index"] = next((m["index"] for m in state["nodes"]
                                               if m["port"] == role[2] and m["host"] == role[1]
                                               or announced_addr(state, m) ==
                                               f"{role[1]}:{role[2]}"), None)
            save_state(state)
    return public_state(state)
