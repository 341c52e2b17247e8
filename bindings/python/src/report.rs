//! Events, health reports and metrics as plain dicts.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use slotwise::{Event, HealthReport, MetricsSnapshot};

use crate::errors;

/// `{"type": "failover" | "topology" | "node_failed" | "node_recovered" | "sentinel_lost" |
/// "sentinel_regained", ...}` with addresses as `"host:port"`.
pub fn event<'py>(py: Python<'py>, e: &Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match e {
        Event::Failover {
            old_primary,
            new_primary,
        } => {
            d.set_item("type", "failover")?;
            d.set_item("old_primary", old_primary.to_string())?;
            d.set_item("new_primary", new_primary.to_string())?;
        }
        Event::TopologyChanged { version, diff } => {
            d.set_item("type", "topology")?;
            d.set_item("version", version)?;
            d.set_item("slots_moved", diff.slots_moved)?;
            let pairs: Vec<(String, String)> = diff
                .failovers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            d.set_item("failovers", pairs)?;
            d.set_item(
                "nodes_added",
                diff.nodes_added
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )?;
            d.set_item(
                "nodes_removed",
                diff.nodes_removed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )?;
        }
        Event::NodeFailed {
            addr,
            reason,
            permanent,
        } => {
            d.set_item("type", "node_failed")?;
            d.set_item("address", addr.to_string())?;
            d.set_item("reason", reason)?;
            d.set_item("permanent", permanent)?;
        }
        Event::NodeRecovered { addr } => {
            d.set_item("type", "node_recovered")?;
            d.set_item("address", addr.to_string())?;
        }
        Event::SentinelLost { addr, reason } => {
            d.set_item("type", "sentinel_lost")?;
            d.set_item("address", addr.to_string())?;
            d.set_item("reason", reason)?;
        }
        Event::SentinelRegained { addr } => {
            d.set_item("type", "sentinel_regained")?;
            d.set_item("address", addr.to_string())?;
        }
        other => {
            d.set_item("type", "other")?;
            d.set_item("detail", format!("{other:?}"))?;
        }
    }
    Ok(d)
}

/// `{"healthy": bool, "uncovered_slots": int, "nodes": [{"address", "ok", "latency", "error"}]}`
/// with `latency` in seconds and `error` an exception instance (or None).
pub fn health<'py>(py: Python<'py>, r: &HealthReport) -> PyResult<Bound<'py, PyDict>> {
    let nodes = PyList::empty(py);
    for n in &r.nodes {
        let d = PyDict::new(py);
        d.set_item("address", n.addr.to_string())?;
        d.set_item("ok", n.error.is_none())?;
        d.set_item("latency", n.latency.map(|l| l.as_secs_f64()))?;
        d.set_item(
            "error",
            n.error
                .as_ref()
                .map(|e| errors::to_py(py, e).value(py).clone()),
        )?;
        nodes.append(d)?;
    }
    let d = PyDict::new(py);
    d.set_item("healthy", r.healthy)?;
    d.set_item("uncovered_slots", r.uncovered_slots)?;
    d.set_item("nodes", nodes)?;
    Ok(d)
}

/// The core's counters; refreshes by trigger name (`"moved"`, `"periodic"`, ...), connects
/// and probes by `"host:port"`.
pub fn metrics<'py>(py: Python<'py>, m: &MetricsSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let refreshes = PyDict::new(py);
    for (t, n) in &m.refreshes {
        refreshes.set_item(snake(&format!("{t:?}")), n)?;
    }
    d.set_item("refreshes", refreshes)?;
    d.set_item("topology_queries", m.topology_queries)?;
    d.set_item("moved_redirects", m.moved_redirects)?;
    d.set_item("ask_redirects", m.ask_redirects)?;
    d.set_item("retries", m.retries)?;
    d.set_item("nodes_marked", m.nodes_marked)?;
    let by_node =
        |map: &std::collections::HashMap<slotwise::Addr, u64>| -> PyResult<Bound<'py, PyDict>> {
            let out = PyDict::new(py);
            for (a, n) in map {
                out.set_item(a.to_string(), n)?;
            }
            Ok(out)
        };
    d.set_item("connects", by_node(&m.connects)?)?;
    d.set_item("probes", by_node(&m.probes)?)?;
    Ok(d)
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
