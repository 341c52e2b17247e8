"""Starting redis-server processes for a deployment, and the JSON every command prints."""

from __future__ import annotations

import os
import random
import subprocess
import time

from .procs import (BUS_OFFSET, REDIS_SENTINEL, REDIS_SERVER, ROOT, HarnessError,
                    check_loopback, ip_add, log, log_tail, pick_ip_block, pick_ports, proc_alive,
                    proc_stat, reap, reserved, save_state)
from .resp import Conn, RespError
from .tls import client_context, server_tls_args


def server_args(state: dict, node: dict) -> list:
    o = state["options"]
    host, port = node["host"], node["port"]
    ports = server_tls_args(state, node) if o.get("tls") else ["--port", str(port)]
    if node["role"] == "sentinel":
        # The config file is written once (sentinel.py) and rewritten by the sentinel itself.
        return [REDIS_SENTINEL, os.path.join(node["dir"], "sentinel.conf"), *ports,
                "--bind", host, "--bind-source-addr", host, "--dir", node["dir"],
                "--protected-mode", "no", "--daemonize", "no",
                # Peers must learn the address the sentinel listens on, not 127.0.0.1.
                "--sentinel", "announce-ip", host]
    binds = [host] + ([o["announce_ip"]] if o.get("announce_ip") else [])
    # Outside a cluster a config file lets CONFIG REWRITE (which Sentinel sends) persist
    # REPLICAOF, so a restarted replica comes back as a replica, as in production.
    conf = [] if state["kind"] == "cluster" else [os.path.join(node["dir"], "redis.conf")]
    args = [REDIS_SERVER, *conf, *ports, "--bind", *binds, "--bind-source-addr", host,
            "--dir", node["dir"], "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--daemonize", "no", "--enable-debug-command", "yes",
            # A replica must be up in milliseconds, not after the 5 s default delay.
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
    if o.get("requirepass"):
        args += ["--requirepass", o["requirepass"], "--masterauth", o["requirepass"]]
    for u in o.get("users", []):
        args += ["--user", u["name"], "on", ">" + u["password"], "~*", "&*", "+@all"]
    if state["kind"] == "cluster":
        args += [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(o["node_timeout_ms"]),
            # 0: a replica may always take over, however long it was cut off. Tests that
            # kill or freeze primaries then see a failover every time.
            "--cluster-replica-validity-factor", "0",
            "--cluster-allow-replica-migration", "no",
            "--cluster-require-full-coverage", "yes",
            # Announcing the bind address makes peers learn a restarted node's new IP at once.
            "--cluster-announce-ip", o.get("announce_ip") or host,
        ]
        if o.get("announce_port_offset"):
            ap = str(port + o["announce_port_offset"])
            args += ["--cluster-announce-port", ap, "--cluster-announce-bus-port",
                     str(port + BUS_OFFSET), "--replica-announce-port", ap]
        if o.get("announce_hostnames"):
            args += ["--cluster-announce-hostname", announced_hostname(node),
                     "--cluster-preferred-endpoint-type", "hostname"]
    if o.get("announce_ip"):
        args += ["--replica-announce-ip", o["announce_ip"]]
    return args


def announced_hostname(node: dict) -> str:
    return f"node-{node['index']}.slotwise.invalid"


def announced_addr(state: dict, node: dict) -> str:
    o = state["options"]
    if o.get("announce_hostnames"):
        host = announced_hostname(node)
    else:
        host = o.get("announce_ip") or node["host"]
    return f"{host}:{node['port'] + (o.get('announce_port_offset') or 0)}"


def spawn(state: dict, node: dict) -> None:
    os.makedirs(node["dir"], exist_ok=True)
    node["log"] = os.path.join(node["dir"], "redis.log")
    if state["kind"] != "cluster" and node["role"] != "sentinel":
        open(os.path.join(node["dir"], "redis.conf"), "a").close()
    with open(node["log"], "ab") as logf:
        p = subprocess.Popen(server_args(state, node), cwd=node["dir"], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    node["pid"] = p.pid
    st = None
    for _ in range(100):  # /proc entry exists right after fork; be patient anyway
        st = proc_stat(p.pid)
        if st:
            break
        time.sleep(0.001)
    node["starttime"] = st[1] if st else None


def auth_of(state: dict):
    o = state["options"]
    if o.get("requirepass"):
        return {"password": o["requirepass"]}
    return {}


def connect(state: dict, node: dict, timeout: float = 1.0) -> Conn:
    auth = {} if node["role"] == "sentinel" else auth_of(state)
    tls = state["options"].get("tls")
    ctx = client_context(tls) if tls else None
    return Conn(node["host"], node["port"], timeout=timeout, ssl_context=ctx, **auth)


def wait_pingable(state: dict, nodes: list, deadline: float) -> list:
    """Nodes that died before answering PING (bind race or bad config)."""
    pending, failed = list(nodes), []
    while pending:
        for n in list(pending):
            st = proc_stat(n["pid"])
            if st is None or st[0] in ("Z", "X"):
                reap(n["pid"])
                pending.remove(n)
                failed.append(n)
                continue
            try:
                with connect(state, n, 0.5) as c:
                    if c.call("PING") == "PONG":
                        pending.remove(n)
            except (OSError, RespError):
                pass
        if pending:
            if time.monotonic() > deadline:
                raise HarnessError("nodes did not answer PING in time:\n" + "\n".join(
                    f"- node {n['index']} {n['host']}:{n['port']} log tail:\n{log_tail(n['log'])}"
                    for n in pending))
            time.sleep(0.005)
    return failed


def start_nodes(state: dict, nodes: list, deadline: float) -> None:
    """Spawn NODES (ports chosen or kept), retrying on a port race. Registry lock held by caller."""
    for n in nodes:
        spawn(state, n)
    save_state(state)
    for attempt in range(6):
        failed = wait_pingable(state, nodes, deadline)
        if not failed:
            return
        busy = [n for n in failed if "already in use" in log_tail(n["log"], 40)]
        if attempt == 5 or len(busy) != len(failed) or any(n.get("fixed_port") for n in busy):
            raise HarnessError("redis-server exited at start:\n" + "\n".join(
                f"- node {n['index']} {n['host']}:{n['port']} log tail:\n{log_tail(n['log'])}"
                for n in failed))
        taken = reserved()[0] | {n["port"] for n in state["nodes"]}
        offsets = port_offsets(state)
        for n, p in zip(busy, pick_ports(len(busy), taken, offsets)):
            log(f"port {n['port']} taken meanwhile, node {n['index']} retries on {p}")
            n["port"] = p
            n["bus_port"] = p + BUS_OFFSET if state["kind"] == "cluster" else None
            spawn(state, n)
        nodes = busy
        save_state(state)


def port_offsets(state: dict) -> tuple:
    offs = []
    if state["kind"] == "cluster":
        offs.append(BUS_OFFSET)
    if state["options"].get("announce_port_offset"):
        offs.append(state["options"]["announce_port_offset"])
    return tuple(offs)


def new_state(kind: str, options: dict, dir_: str | None) -> dict:
    name = "%s-%s-%d-%04x" % (kind, time.strftime("%Y%m%d-%H%M%S"), os.getpid(),
                              random.getrandbits(16))
    d = os.path.abspath(dir_) if dir_ else os.path.join(ROOT, name)
    if os.path.exists(os.path.join(d, "state.json")):
        raise HarnessError(f"{d} already holds a deployment")
    os.makedirs(d, exist_ok=True)
    return {"version": 1, "name": os.path.basename(d) if dir_ else name, "dir": d, "kind": kind,
            "created": time.time(), "options": options, "ip_block": None, "nodes": [],
            "seeds": []}


def pick_hosts(state: dict, count: int, ips: str, ip_base: str | None, taken_ips: set,
               blocks: set) -> list:
    """COUNT node IPs: all 127.0.0.1 (shared), consecutive from IP_BASE, or a fresh /24 of
    their own. Call with the registry lock held."""
    if ips not in ("distinct", "shared"):
        raise HarnessError("--ips is distinct or shared")
    if ips == "shared":
        return ["127.0.0.1"] * count
    if ip_base:
        hosts = [ip_add(check_loopback(ip_base), i) for i in range(count)]
        clash = set(hosts) & taken_ips
        if clash:
            raise HarnessError(f"IPs already used by another deployment: {sorted(clash)}")
        return hosts
    state["ip_block"] = pick_ip_block(blocks, taken_ips)
    return [f"{state['ip_block']}.{11 + i}" for i in range(count)]


def make_node(state: dict, index: int, host: str, port: int, role: str, primary_index=None):
    return {"index": index, "host": host, "port": port,
            "bus_port": port + BUS_OFFSET if state["kind"] == "cluster" else None,
            "pid": None, "starttime": None, "role": role, "id": "",
            "primary_index": primary_index,
            "dir": os.path.join(state["dir"], f"node-{index}"), "log": ""}


def parse_users(users) -> list:
    out = []
    for u in users or []:
        name, sep, pw = u.partition(":")
        if not sep or not name or not pw or any(c.isspace() for c in u):
            raise HarnessError(f"--user wants NAME:PASS without spaces, got {u!r}")
        out.append({"name": name, "password": pw})
    return out


def check_password(p):
    if p is not None and (not p or any(c.isspace() for c in p)):
        raise HarnessError("--requirepass must be non-empty without spaces")
    return p


def free_ip(state: dict) -> str:
    used = reserved()[1] | {n["host"] for n in state["nodes"]}
    block = state.get("ip_block") or "127.0.%d" % random.randint(2, 250)
    for last in range(11, 255):
        ip = f"{block}.{last}"
        if ip not in used:
            return ip
    raise HarnessError("no free IP left in the deployment's block")


def seeds_of(state: dict) -> list:
    """What a client is given: the sentinels of a Sentinel deployment, else every node."""
    sentinels = [n for n in state["nodes"] if n["role"] == "sentinel"]
    return [f"{n['host']}:{n['port']}" for n in sentinels or state["nodes"]]


def public_node(state: dict, node: dict) -> dict:
    out = {k: node.get(k) for k in ("index", "host", "port", "bus_port", "pid", "role", "id",
                                    "primary_index", "dir", "log")}
    out["alive"] = proc_alive(node)
    out["announced"] = announced_addr(state, node) if state["kind"] == "cluster" else None
    return out


def public_state(state: dict) -> dict:
    o = state["options"]
    return {"dir": state["dir"], "kind": state["kind"],
            "nodes": [public_node(state, n) for n in state["nodes"]], "seeds": state["seeds"],
            "requirepass": o.get("requirepass"), "users": o.get("users", []),
            "tls": o.get("tls"),
            "service": o.get("service"), "options": o}
