"""Processes, loopback addresses, ports, the machine-wide reservation registry, state files."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import sys
import time

# An empty value counts as unset, and the root is absolute: deployments must not depend on
# the working directory of whichever suite started them.
ROOT = os.path.abspath(os.environ.get("SLOTWISE_HARNESS_ROOT") or "/tmp/slotwise-harness")
# Shared by every root, so suites using different roots still never collide.
REGISTRY = os.environ.get("SLOTWISE_HARNESS_REGISTRY", "/tmp/slotwise-harness-registry")
REDIS_SERVER = os.environ.get("SLOTWISE_REDIS_SERVER", "redis-server")
REDIS_SENTINEL = os.environ.get("SLOTWISE_REDIS_SENTINEL", "redis-sentinel")
PORT_MIN, PORT_MAX = 12000, 21999
BUS_OFFSET = 10000
TOTAL_SLOTS = 16384
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class HarnessError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[slotwise-harness] {msg}", file=sys.stderr, flush=True)


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


def lock_holders(path: str) -> list:
    """Processes with PATH open: pid, state, command line."""
    out = []
    real = os.path.realpath(path)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == real for fd in fds):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                out.append(f"pid {pid} ({(proc_stat(int(pid)) or ('?',))[0]}) {cmd}")
        except OSError:
            continue
    return out


def wait_unlocked(path: str, timeout: float) -> None:
    """Waits until no process holds PATH's flock (a killed redis-server's nodes.conf lock can
    outlive the pid check by a moment); raises naming the holders otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise HarnessError(f"{path} is still locked by: {lock_holders(path)}")
        finally:
            os.close(fd)
        time.sleep(0.02)


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
