"""A primary with replicas, watched by sentinels."""

from __future__ import annotations

import os
import time

from .health import wait_healthy
from .nodes import (check_password, connect, make_node, new_state, parse_users, pick_hosts,
                    public_state, seeds_of, start_nodes)
from .procs import (HarnessError, pick_ports, registry_lock, registry_write, reserved, save_state,
                    stop)
from .resp import parse_info
from .tls import make_tls


def start_sentinel(replicas: int = 2, sentinels: int = 3, quorum: int | None = None,
                   service: str = "mymaster", down_after_ms: int = 1000,
                   failover_timeout_ms: int = 3000, ips: str = "distinct",
                   ip_base: str | None = None, requirepass: str | None = None, users=None,
                   timeout: float = 30.0, dir: str | None = None, tls: bool = False) -> dict:
    """Nodes 0..REPLICAS are the data nodes (0 starts as primary), then the sentinels."""
    if replicas < 0 or sentinels < 1 or replicas + sentinels > 50:
        raise HarnessError("need 0 <= replicas, 1 <= sentinels, at most 51 nodes")
    if not service.isidentifier():
        raise HarnessError("--service must be a plain name")
    quorum = quorum or sentinels // 2 + 1
    options = {"service": service, "quorum": quorum, "down_after_ms": down_after_ms,
               "failover_timeout_ms": failover_timeout_ms, "ips": ips,
               "requirepass": check_password(requirepass), "users": parse_users(users)}
    deadline = time.monotonic() + timeout
    state = new_state("sentinel", options, dir)
    total = 1 + replicas + sentinels
    try:
        if tls:
            options["tls"] = make_tls(state)
        with registry_lock():
            taken_ports, taken_ips, blocks = reserved()
            hosts = pick_hosts(state, total, ips, ip_base, taken_ips, blocks)
            ports = pick_ports(total, taken_ports, ())
            for i in range(total):
                role = "primary" if i == 0 else "replica" if i <= replicas else "sentinel"
                state["nodes"].append(make_node(state, i, hosts[i], ports[i], role,
                                                0 if role == "replica" else None))
            registry_write(state)
            data = state["nodes"][:replicas + 1]
            start_nodes(state, data, deadline)
            primary = data[0]
            for n in data:
                with connect(state, n) as c:
                    n["id"] = parse_info(c.call("INFO", "server")).get("run_id", "")
                    if n is not primary:
                        c.call("REPLICAOF", primary["host"], primary["port"])
                        c.call("CONFIG", "REWRITE")
            # Sentinels discover replicas from the primary's INFO: start them once replicas
            # are attached, and they know the whole set at once.
            wait_links_up(state, data[1:], deadline)
            for n in state["nodes"][replicas + 1:]:
                write_sentinel_conf(state, n, primary)
            start_nodes(state, state["nodes"][replicas + 1:], deadline)
        wait_healthy(state, deadline)
        state["seeds"] = seeds_of(state)
        save_state(state)
    except BaseException:
        stop(state["dir"])
        raise
    return public_state(state)


def write_sentinel_conf(state: dict, node: dict, primary: dict) -> None:
    o, svc = state["options"], state["options"]["service"]
    lines = [f"sentinel monitor {svc} {primary['host']} {primary['port']} {o['quorum']}",
             f"sentinel down-after-milliseconds {svc} {o['down_after_ms']}",
             f"sentinel failover-timeout {svc} {o['failover_timeout_ms']}",
             f"sentinel parallel-syncs {svc} 1"]
    if o.get("requirepass"):
        lines.append(f"sentinel auth-pass {svc} {o['requirepass']}")
    os.makedirs(node["dir"], exist_ok=True)
    with open(os.path.join(node["dir"], "sentinel.conf"), "w") as f:
        f.write("\n".join(lines) + "\n")


def wait_links_up(state: dict, replicas: list, deadline: float) -> None:
    for n in replicas:
        with connect(state, n) as c:
            while parse_info(c.call("INFO", "replication")).get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise HarnessError(f"node {n['index']}: replication link never came up")
                time.sleep(0.01)
