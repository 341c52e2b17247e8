#!/usr/bin/env python3
"""Start and stop real Redis deployments for slotwise tests (stdlib only, Python >= 3.9).

Every test suite (Rust, Python, Node, C) drives real servers through this one file, either as
a CLI (every command prints one JSON document on stdout, logs go to stderr) or by importing it.
Deployments live under $SLOTWISE_HARNESS_ROOT (default /tmp/slotwise-harness); each one is a
directory holding state.json and one sub-directory per node (nodes.conf, redis.log).

Only loopback addresses (127.0.0.0/8) are ever used. Ports are picked at random in 12000-21999
(cluster bus = port + 10000, both below the kernel's ephemeral range) and checked free; a
machine-wide registry (under a file lock) keeps parallel deployments from picking the same
ports or IP blocks, even while one of their nodes is down.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.environ.get("SLOTWISE_HARNESS_ROOT", "/tmp/slotwise-harness")
# Shared by every root, so suites using different roots still never collide.
REGISTRY = os.environ.get("SLOTWISE_HARNESS_REGISTRY", "/tmp/slotwise-harness-registry")
REDIS_SERVER = os.environ.get("SLOTWISE_REDIS_SERVER", "redis-server")
PORT_MIN, PORT_MAX = 12000, 21999
BUS_OFFSET = 10000
TOTAL_SLOTS = 16384
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class HarnessError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[slotwise-harness] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# A tiny RESP2 client: enough to build clusters and poll their health.


class RespError(Exception):
    """An error reply from the server (not a network failure)."""


class Conn:
    def __init__(self, host, port, timeout=1.0, password=None, username=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        if password is not None:
            self.call(*(["AUTH", username, password] if username else ["AUTH", password]))

    def close(self):
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed by server")
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply type {kind!r}")


def parse_info(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def parse_cluster_nodes(text: str) -> list:
    """CLUSTER NODES lines as dicts: id, host, port, flags (set), master, slots (str)."""
    nodes = []
    for line in text.strip().splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        addr = f[1].split(",")[0].split("@")[0]
        host, _, port = addr.rpartition(":")
        slots = " ".join(s for s in f[8:] if not s.startswith("["))
        nodes.append({
            "id": f[0], "host": host, "port": int(port) if port.isdigit() else 0,
            "flags": set(f[2].split(",")), "master": None if f[3] == "-" else f[3],
            "link": f[7], "slots": slots,
        })
    return nodes


# --------------------------------------------------------------------------------------------
# Processes, ports, addresses.


def check_loopback(ip: str) -> str:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise HarnessError(f"not an IP address: {ip!r}") from None
    if addr not in LOOPBACK:
        raise HarnessError(f"only 127.0.0.0/8 addresses are allowed, got {ip}")
    return str(addr)


def ip_add(ip: str, n: int) -> str:
    return check_loopback(str(ipaddress.ip_address(ip) + n))


def port_free(port: int) -> bool:
    """True when nothing listens on PORT on any address (binding 0.0.0.0 is the strict test)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def proc_stat(pid: int):
    """(state letter, starttime) of PID, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def proc_is(node: dict) -> bool:
    """True when node's recorded pid is still that very process (guards against pid reuse)."""
    st = proc_stat(node.get("pid") or 0) if node.get("pid") else None
    return st is not None and st[0] not in ("Z", "X") and st[1] == node.get("starttime")


def proc_alive(node: dict) -> bool:
    """Running (not stopped by SIGSTOP, not a zombie)."""
    st = proc_stat(node.get("pid") or 0) if node.get("pid") else None
    return st is not None and st[0] not in ("Z", "X", "T", "t") and st[1] == node.get("starttime")


def reap(pid: int) -> None:
    # Only matters when the harness is imported and the server is our own child.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(pids, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        for p in left:
            reap(p)
        left = [p for p in left if (st := proc_stat(p)) is not None and st[0] not in ("Z", "X")]
        if left:
            time.sleep(0.01)
    return left


def log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def locked(path: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def registry_lock():
    return locked(os.path.join(REGISTRY, ".lock"))


def registry_entries() -> list:
    """Live reservations; entries whose deployment dir is gone are dropped."""
    out = []
    if not os.path.isdir(REGISTRY):
        return out
    for name in os.listdir(REGISTRY):
        if not name.endswith(".json"):
            continue
        path = os.path.join(REGISTRY, name)
        try:
            with open(path) as f:
                entry = json.load(f)
        except (OSError, ValueError):
            continue
        if os.path.isdir(entry.get("dir", "")):
            out.append(entry)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return out


def registry_path(state: dict) -> str:
    return os.path.join(REGISTRY, state["name"] + ".json")


def registry_write(state: dict) -> None:
    """Reserve every port and IP this deployment uses or has used. Call with the lock held."""
    os.makedirs(REGISTRY, exist_ok=True)
    # 127.0.0.1 is shared by nature (standalone default, --ips shared): never reserved.
    ips = {n["host"] for n in state["nodes"]} - {"127.0.0.1"}
    entry = {"dir": state["dir"], "ips": sorted(ips),
             "ip_block": state.get("ip_block"), "ports": sorted(n["port"] for n in state["nodes"])}
    old = registry_path(state)
    with contextlib.suppress(OSError, ValueError):
        with open(old) as f:
            prev = json.load(f)
        entry["ips"] = sorted(set(entry["ips"]) | set(prev.get("ips", [])))
    write_json(old, entry)


def registry_remove(state: dict) -> None:
    with contextlib.suppress(OSError, KeyError):
        os.unlink(registry_path(state))


def reserved() -> tuple:
    ports, ips, blocks = set(), set(), set()
    for e in registry_entries():
        ports.update(e.get("ports", []))
        ips.update(e.get("ips", []))
        if e.get("ip_block"):
            blocks.add(e["ip_block"])
    return ports, ips, blocks


def pick_ports(count: int, taken: set, extra_offsets=(BUS_OFFSET,)) -> list:
    ports = []
    for _ in range(20000):
        if len(ports) == count:
            return ports
        p = random.randint(PORT_MIN, PORT_MAX)
        if p in taken or p in ports:
            continue
        if all(port_free(p + off) for off in (0, *extra_offsets)):
            ports.append(p)
    raise HarnessError("no free ports found in %d-%d" % (PORT_MIN, PORT_MAX))


def pick_ip_block(taken_blocks: set, taken_ips: set) -> str:
    """A whole 127.A.B.0/24 for one deployment; nodes use .11 upwards."""
    for _ in range(10000):
        block = "127.%d.%d" % (random.randint(20, 250), random.randint(0, 255))
        if block not in taken_blocks and not any(ip.startswith(block + ".") for ip in taken_ips):
            return block
    raise HarnessError("no free 127.x.y.0/24 block")


def write_json(path: str, data) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def load_state(d: str) -> dict:
    try:
        with open(os.path.join(d, "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        raise HarnessError(f"no deployment at {d} (state.json missing)") from None


def save_state(state: dict) -> None:
    write_json(os.path.join(state["dir"], "state.json"), state)


# --------------------------------------------------------------------------------------------
# Starting servers.


def server_args(state: dict, node: dict) -> list:
    o = state["options"]
    host, port = node["host"], node["port"]
    binds = [host] + ([o["announce_ip"]] if o.get("announce_ip") else [])
    args = [REDIS_SERVER, "--port", str(port), "--bind", *binds, "--bind-source-addr", host,
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
    return Conn(node["host"], node["port"], timeout=timeout, **auth_of(state))


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


def start_cluster(primaries: int = 3, replicas: int = 1, ips: str = "distinct",
                  ip_base: str | None = None, node_timeout_ms: int = 1000,
                  announce_ip: str | None = None, announce_port_offset: int = 0,
                  announce_hostnames: bool = False, requirepass: str | None = None,
                  users=None, timeout: float = 30.0, dir: str | None = None) -> dict:
    if primaries < 1 or replicas < 0 or primaries * (replicas + 1) > 200:
        raise HarnessError("need 1 <= primaries and 0 <= replicas, at most 200 nodes")
    if ips not in ("distinct", "shared"):
        raise HarnessError("--ips is distinct or shared")
    if announce_ip:
        announce_ip = check_loopback(announce_ip)
    if ip_base:
        ip_base = check_loopback(ip_base)
    options = {"node_timeout_ms": node_timeout_ms, "ips": ips, "announce_ip": announce_ip,
               "announce_port_offset": announce_port_offset,
               "announce_hostnames": announce_hostnames,
               "requirepass": check_password(requirepass), "users": parse_users(users)}
    t0 = time.monotonic()
    deadline = t0 + timeout
    state = new_state("cluster", options, dir)
    total = primaries * (replicas + 1)
    try:
        with registry_lock():
            taken_ports, taken_ips, blocks = reserved()
            if ips == "shared":
                hosts = ["127.0.0.1"] * total
            elif ip_base:
                hosts = [ip_add(ip_base, i) for i in range(total)]
                clash = set(hosts) & taken_ips
                if clash:
                    raise HarnessError(f"IPs already used by another deployment: {sorted(clash)}")
            else:
                state["ip_block"] = pick_ip_block(blocks, taken_ips)
                hosts = [f"{state['ip_block']}.{11 + i}" for i in range(total)]
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
        state["seeds"] = [f"{n['host']}:{n['port']}" for n in state["nodes"]]
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


def start_standalone(ip: str = "127.0.0.1", requirepass: str | None = None, users=None,
                     timeout: float = 30.0, dir: str | None = None) -> dict:
    ip = check_loopback(ip)
    options = {"requirepass": check_password(requirepass), "users": parse_users(users)}
    state = new_state("standalone", options, dir)
    try:
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


# --------------------------------------------------------------------------------------------
# Health.


class Poller:
    """Keeps one connection per node across polls; reconnects after failures."""

    def __init__(self, state: dict):
        self.state, self.conns = state, {}

    def call(self, node: dict, *args):
        key = (node["index"], node["host"], node["port"], node["pid"])
        c = self.conns.get(key)
        try:
            if c is None:
                c = self.conns[key] = connect(self.state, node, 0.5)
            return c.call(*args)
        except (OSError, ConnectionError):
            self.conns.pop(key, None)
            if c:
                c.close()
            raise

    def close(self):
        for c in self.conns.values():
            c.close()


def cluster_problems(state: dict, poller: Poller, expect_roles: bool) -> list:
    """What keeps the cluster from being healthy; updates live roles in state. [] = healthy."""
    live = [n for n in state["nodes"] if proc_alive(n)]
    if not live:
        return ["no live node"]
    by_id = {n["id"]: n for n in state["nodes"] if n["id"]}
    live_ids = {n["id"] for n in live}
    problems, views = [], {}
    for n in live:
        name = f"node {n['index']} ({n['host']}:{n['port']})"
        try:
            info = parse_info(poller.call(n, "CLUSTER", "INFO"))
            view = parse_cluster_nodes(poller.call(n, "CLUSTER", "NODES"))
        except (OSError, ConnectionError, RespError) as e:
            problems.append(f"{name}: {e or type(e).__name__}")
            continue
        views[n["index"]] = view
        if info.get("cluster_state") != "ok":
            problems.append(f"{name}: cluster_state:{info.get('cluster_state')}")
        if info.get("cluster_slots_ok") != str(TOTAL_SLOTS):
            problems.append(f"{name}: cluster_slots_ok:{info.get('cluster_slots_ok')}")
        if expect_roles and info.get("cluster_known_nodes") != str(len(state["nodes"])):
            problems.append(f"{name}: knows {info.get('cluster_known_nodes')} of "
                            f"{len(state['nodes'])} nodes")
        seen = {v["id"]: v for v in view}
        for other in live:
            v = seen.get(other["id"])
            if v is None:
                problems.append(f"{name}: does not know node {other['index']}")
                continue
            bad = v["flags"] & {"handshake", "fail", "fail?", "noaddr"}
            if bad:
                problems.append(f"{name}: sees node {other['index']} as {','.join(sorted(bad))}")
            elif (v["host"], v["port"]) != (other["host"], other["port"]) and \
                    not state["options"].get("announce_ip") and \
                    not state["options"].get("announce_port_offset") and \
                    not state["options"].get("announce_hostnames"):
                problems.append(f"{name}: has node {other['index']} at {v['host']}:{v['port']}")
        me = next((v for v in view if "myself" in v["flags"]), None)
        if me is not None:
            role = "replica" if "slave" in me["flags"] else "primary"
            p = by_id.get(me["master"]) if me["master"] else None
            pidx = p["index"] if p else None
            if not expect_roles:
                n["role"], n["primary_index"] = role, pidx
            elif (role, pidx) != (n["role"], n["primary_index"]):
                problems.append(f"{name}: is {role} of {pidx}, expected {n['role']} of "
                                f"{n['primary_index']}")
    # Every view must agree on who serves which slots, and each owner must be a live node.
    owner_maps = {}
    for idx, view in views.items():
        owner_maps[idx] = sorted((v["id"], v["slots"]) for v in view
                                 if "master" in v["flags"] and v["slots"])
        for oid, _ in owner_maps[idx]:
            if oid not in live_ids:
                who = by_id[oid]["index"] if oid in by_id else oid
                problems.append(f"node {idx}: slots still served by dead node {who}")
    if len({json.dumps(m) for m in owner_maps.values()}) > 1:
        problems.append("nodes disagree on slot owners: " + "; ".join(
            f"node {i}: " + " ".join(f"{by_id.get(o, {}).get('index', o)}={s}" for o, s in m)
            for i, m in owner_maps.items()))
    for n in live:
        if n["index"] not in views:
            continue
        if expect_roles:
            want_master = nodes_id(state, n["primary_index"]) if n["role"] == "replica" else None
            for idx, view in views.items():
                v = next((x for x in view if x["id"] == n["id"]), None)
                if v and v["master"] != want_master:
                    problems.append(f"node {idx}: sees node {n['index']} as replica of "
                                    f"{v['master']}, expected {want_master}")
        if n["role"] == "replica":
            try:
                rinfo = parse_info(poller.call(n, "INFO", "replication"))
            except (OSError, ConnectionError, RespError) as e:
                problems.append(f"node {n['index']}: {e}")
                continue
            if rinfo.get("master_link_status") != "up":
                problems.append(f"node {n['index']}: master_link_status:"
                                f"{rinfo.get('master_link_status')}")
    return problems


def nodes_id(state: dict, index):
    return state["nodes"][index]["id"] if index is not None else None


def wait_healthy(state: dict, deadline: float, expect_roles: bool = False) -> None:
    poller = Poller(state)
    try:
        while True:
            if state["kind"] == "cluster":
                problems = cluster_problems(state, poller, expect_roles)
            else:
                problems = []
                for n in state["nodes"]:
                    try:
                        poller.call(n, "PING")
                    except (OSError, ConnectionError, RespError) as e:
                        problems.append(f"node {n['index']}: {e or type(e).__name__}")
            if not problems:
                return
            if time.monotonic() > deadline:
                tails = "".join(f"\n--- node {n['index']} log tail:\n{log_tail(n['log'], 8)}"
                                for n in state["nodes"] if n.get("log"))
                raise HarnessError("deployment not healthy in time:\n- " + "\n- ".join(
                    dict.fromkeys(problems)) + tails)
            time.sleep(0.02)
    finally:
        poller.close()


def wait_ok(dir: str, timeout: float = 30.0) -> dict:
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        try:
            wait_healthy(state, time.monotonic() + timeout)
        finally:
            save_state(state)
    return public_state(state)


# --------------------------------------------------------------------------------------------
# Stopping, signals, restarts.


def stop(dir: str, keep: bool = False) -> dict:
    dir = os.path.abspath(dir)
    if not os.path.isdir(dir):
        return {"dir": dir, "stopped": [], "killed": []}
    try:
        state = load_state(dir)
    except (HarnessError, ValueError):
        state = {"nodes": [], "dir": dir, "name": os.path.basename(dir)}
    targets = [n["pid"] for n in state["nodes"] if proc_is(n)]
    targets += [p for p in orphans_under(dir) if p not in targets]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)  # a SIGSTOPped server cannot act on SIGTERM
            os.kill(pid, signal.SIGTERM)
    left = wait_gone(targets, 1.0)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    still = wait_gone(left, 5.0)
    if still:
        raise HarnessError(f"processes survived SIGKILL: {still}")
    with registry_lock():
        registry_remove(state)
        if not keep:
            shutil.rmtree(dir, ignore_errors=True)
    return {"dir": dir, "stopped": targets, "killed": left}


def orphans_under(dir: str) -> list:
    """redis processes whose working directory is inside DIR (even if state.json lost them)."""
    out, prefix = [], os.path.abspath(dir).rstrip("/") + "/"
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        st = proc_stat(int(entry))
        if comm.startswith("redis") and (cwd + "/").startswith(prefix) and st and st[0] != "Z":
            out.append(int(entry))
    return out


def stop_all(root: str = ROOT) -> dict:
    stopped = []
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            d = os.path.join(root, name)
            if os.path.isdir(d):
                stop(d)
                stopped.append(d)
        for pid in orphans_under(root):  # dirs deleted under running servers
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with registry_lock():
        registry_entries()  # drops stale reservations
    if stopped:
        log(f"stop-all: stopped {len(stopped)} deployment(s) left under {root}")
    return {"root": root, "stopped": stopped}


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


def wait_state(pid: int, letters, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = proc_stat(pid)
        if st is None or st[0] in letters:
            return
        time.sleep(0.005)


def node_at(state: dict, index: int) -> dict:
    if not 0 <= index < len(state["nodes"]):
        raise HarnessError(f"no node {index} (deployment has {len(state['nodes'])})")
    return state["nodes"][index]


def restart_node(dir: str, index: int, ip: str | None = None, timeout: float = 30.0) -> dict:
    """Start node INDEX again with its nodes.conf and port, optionally bound to another IP."""
    with locked(os.path.join(dir, ".lock")):
        state = load_state(dir)
        node = node_at(state, index)
        if proc_is(node):
            os.kill(node["pid"], signal.SIGCONT)
            os.kill(node["pid"], signal.SIGKILL)
            wait_gone([node["pid"]], 5.0)
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
        state["seeds"] = [f"{n['host']}:{n['port']}" for n in state["nodes"]]
        save_state(state)
    return public_node(state, node)


def free_ip(state: dict) -> str:
    used = reserved()[1] | {n["host"] for n in state["nodes"]}
    block = state.get("ip_block") or "127.0.%d" % random.randint(2, 250)
    for last in range(11, 255):
        ip = f"{block}.{last}"
        if ip not in used:
            return ip
    raise HarnessError("no free IP left in the deployment's block")


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
        state["seeds"] = [f"{n['host']}:{n['port']}" for n in state["nodes"]]
        save_state(state)
    return public_node(state, node)


# --------------------------------------------------------------------------------------------
# Output.


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
            "options": o}


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


# --------------------------------------------------------------------------------------------
# CLI.


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
    c.add_argument("--timeout", type=float, default=30.0)
    c.add_argument("--dir")

    s = sub.add_parser("start-standalone", help="start one server; prints its state")
    s.add_argument("--ip", default="127.0.0.1")
    s.add_argument("--requirepass")
    s.add_argument("--user", action="append", metavar="NAME:PASS")
    s.add_argument("--timeout", type=float, default=30.0)
    s.add_argument("--dir")

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
                                args.requirepass, args.user, args.timeout, args.dir)
        elif args.cmd == "start-standalone":
            out = start_standalone(args.ip, args.requirepass, args.user, args.timeout, args.dir)
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
