"""When is a deployment healthy: the checks behind start-cluster, start-sentinel and wait-ok."""

from __future__ import annotations

import json
import time

from .nodes import connect
from .procs import TOTAL_SLOTS, HarnessError, log_tail, proc_alive
from .resp import RespError, parse_cluster_nodes, parse_info


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


def pairs(flat) -> dict:
    """A flat [k1, v1, k2, v2, ...] reply (SENTINEL MASTER) as a dict."""
    return dict(zip(flat[::2], flat[1::2])) if isinstance(flat, list) else {}


def sentinel_problems(state: dict, poller: Poller) -> list:
    """[] when every live sentinel names the same live primary, that primary says so, every
    other live data node replicates it with its link up, and the sentinels see each other."""
    svc = state["options"]["service"]
    live = [n for n in state["nodes"] if proc_alive(n)]
    sentinels = [n for n in live if n["role"] == "sentinel"]
    data = [n for n in live if n["role"] != "sentinel"]
    problems, named = [], set()
    for s in sentinels:
        try:
            addr = poller.call(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", svc)
            master = pairs(poller.call(s, "SENTINEL", "MASTER", svc))
        except (OSError, ConnectionError, RespError) as e:
            problems.append(f"sentinel {s['index']}: {e or type(e).__name__}")
            continue
        named.add(tuple(addr or ()))
        if master.get("flags") != "master":
            problems.append(f"sentinel {s['index']}: master flags {master.get('flags')}")
        others = int(master.get("num-other-sentinels", 0))
        if others < len(sentinels) - 1:
            problems.append(f"sentinel {s['index']}: sees {others} other sentinels")
    if len(named) > 1:
        problems.append(f"sentinels disagree on the primary: {sorted(named)}")
    primary = None
    for n in data:
        try:
            role = poller.call(n, "ROLE")
        except (OSError, ConnectionError, RespError) as e:
            problems.append(f"node {n['index']}: {e or type(e).__name__}")
            continue
        if role[0] == "master":
            n["role"], n["primary_index"] = "primary", None
            if named and (n["host"], str(n["port"])) in named:
                primary = n
            else:
                problems.append(f"node {n['index']}: is a primary the sentinels do not name")
        else:
            n["role"] = "replica"
            n["primary_index"] = next((m["index"] for m in data if m["host"] == role[1]
                                       and m["port"] == role[2]), None)
            if role[3] != "connected":
                problems.append(f"node {n['index']}: replication link {role[3]}")
    if sentinels and named and primary is None:
        problems.append(f"the primary the sentinels name ({sorted(named)}) is not live")
    for n in data:
        if primary and n["role"] == "replica" and n["primary_index"] != primary["index"]:
            problems.append(f"node {n['index']}: replicates {n['primary_index']}, "
                            f"not the primary {primary['index']}")
    return problems


def nodes_id(state: dict, index):
    return state["nodes"][index]["id"] if index is not None else None


def wait_healthy(state: dict, deadline: float, expect_roles: bool = False) -> None:
    poller = Poller(state)
    try:
        while True:
            if state["kind"] == "cluster":
                problems = cluster_problems(state, poller, expect_roles)
            elif state["kind"] == "sentinel":
                problems = sentinel_problems(state, poller)
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
