//! A topology snapshot as plain dicts:
//! `{"version": int, "covered_slots": int, "shards": [{"slots": [(start, end)], "primary": node,
//! "replicas": [node]}]}`, each node `{"id", "host", "port", "address", "role", "health",
//! "replication_offset"}`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use slotwise::topology::{Node, NodeHealth, Role};
use slotwise::Topology;

pub fn to_py<'py>(py: Python<'py>, t: &Topology, version: u64) -> PyResult<Bound<'py, PyDict>> {
    let shards = PyList::empty(py);
    for s in t.shards() {
        let shard = PyDict::new(py);
        shard.set_item("slots", s.slots.clone())?;
        shard.set_item("primary", node(py, &s.primary)?)?;
        let replicas = PyList::empty(py);
        for r in &s.replicas {
            replicas.append(node(py, r)?)?;
        }
        shard.set_item("replicas", replicas)?;
        shards.append(shard)?;
    }
    let d = PyDict::new(py);
    d.set_item("version", version)?;
    d.set_item("covered_slots", t.covered_slots())?;
    d.set_item("shards", shards)?;
    Ok(d)
}

fn node<'py>(py: Python<'py>, n: &Node) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &n.id)?;
    d.set_item("host", &n.addr.host)?;
    d.set_item("port", n.addr.port)?;
    d.set_item("address", n.addr.to_string())?;
    d.set_item(
        "role",
        match n.role {
            Role::Primary => "primary",
            Role::Replica => "replica",
        },
    )?;
    d.set_item(
        "health",
        match n.health {
            NodeHealth::Online => "online",
            NodeHealth::Failed => "failed",
            NodeHealth::Loading => "loading",
        },
    )?;
    d.set_item("replication_offset", n.replication_offset)?;
    Ok(d)
}
