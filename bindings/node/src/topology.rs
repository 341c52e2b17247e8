//! Snapshots as plain objects: the topology, the metrics and a health report.

use std::collections::HashMap;

use napi::bindgen_prelude::{Null, Object, ToNapiValue, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use slotwise::topology::{Node, NodeHealth, Role};
use slotwise::{HealthReport, MetricsSnapshot, Topology, Trigger};

use crate::convert::Ctx;
use crate::errors;

/// The topology in use.
#[napi(object)]
#[derive(Debug)]
pub struct TopologyView {
    /// Grows every time the routing changes.
    pub version: f64,
    /// Slots (of 16384) with a known primary.
    pub covered_slots: u32,
    pub shards: Vec<ShardView>,
}

/// One shard: its slot ranges, primary and replicas.
#[napi(object)]
#[derive(Debug)]
pub struct ShardView {
    /// Inclusive `[start, end]` slot ranges.
    pub slots: Vec<Vec<u32>>,
    pub primary: NodeView,
    pub replicas: Vec<NodeView>,
}

/// One node as the deployment announces it.
#[napi(object)]
#[derive(Debug)]
pub struct NodeView {
    /// The node id (empty when unknown).
    pub id: String,
    pub host: String,
    pub port: u32,
    /// `host:port` (`[v6]:port`).
    pub address: String,
    /// `'primary'` or `'replica'`.
    pub role: String,
    /// `'online'`, `'failed'` or `'loading'`.
    pub health: String,
    pub replication_offset: f64,
}

pub fn view(t: &Topology, version: u64) -> TopologyView {
    TopologyView {
        version: version as f64,
        covered_slots: t.covered_slots() as u32,
        shards: t
            .shards()
            .iter()
            .map(|s| ShardView {
                slots: s
                    .slots
                    .iter()
                    .map(|(a, b)| vec![u32::from(*a), u32::from(*b)])
                    .collect(),
                primary: node(&s.primary),
                replicas: s.replicas.iter().map(node).collect(),
            })
            .collect(),
    }
}

fn node(n: &Node) -> NodeView {
    NodeView {
        id: n.id.clone(),
        host: n.addr.host.clone(),
        port: u32::from(n.addr.port),
        address: n.addr.to_string(),
        role: match n.role {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
        .to_owned(),
        health: match n.health {
            NodeHealth::Online => "online",
            NodeHealth::Failed => "failed",
            NodeHealth::Loading => "loading",
        }
        .to_owned(),
        replication_offset: n.replication_offset as f64,
    }
}

/// Counters of what the client did to follow the deployment.
#[napi(object)]
#[derive(Debug)]
pub struct MetricsView {
    /// Topology refreshes by trigger (`startup`, `moved`, `connectionFailure`, ...).
    pub refreshes: HashMap<String, f64>,
    pub topology_queries: f64,
    pub moved_redirects: f64,
    pub ask_redirects: f64,
    pub retries: f64,
    pub nodes_marked: f64,
    /// Connection attempts per node address.
    pub connects: HashMap<String, f64>,
    /// Probe connection attempts to failed nodes, per node address.
    pub probes: HashMap<String, f64>,
}

pub fn metrics(m: MetricsSnapshot) -> MetricsView {
    let per_addr = |h: HashMap<slotwise::Addr, u64>| {
        h.into_iter()
            .map(|(a, n)| (a.to_string(), n as f64))
            .collect()
    };
    MetricsView {
        refreshes: m
            .refreshes
            .into_iter()
            .map(|(t, n)| (trigger(t).to_owned(), n as f64))
            .collect(),
        topology_queries: m.topology_queries as f64,
        moved_redirects: m.moved_redirects as f64,
        ask_redirects: m.ask_redirects as f64,
        retries: m.retries as f64,
        nodes_marked: m.nodes_marked as f64,
        connects: per_addr(m.connects),
        probes: per_addr(m.probes),
    }
}

fn trigger(t: Trigger) -> &'static str {
    match t {
        Trigger::Startup => "startup",
        Trigger::Moved => "moved",
        Trigger::Ask => "ask",
        Trigger::ConnectionFailure => "connectionFailure",
        Trigger::ReadOnly => "readOnly",
        Trigger::ClusterDown => "clusterDown",
        Trigger::TryAgain => "tryAgain",
        Trigger::Periodic => "periodic",
        Trigger::Explicit => "explicit",
        Trigger::NodeRecovered => "nodeRecovered",
        Trigger::Sentinel => "sentinel",
        _ => "other",
    }
}

/// `{ healthy, uncoveredSlots, nodes: [{ address, latencyMs, error }] }`; `latencyMs` and
/// `error` are `null` when not applicable.
pub fn health<'e>(env: &'e Env, ctx: &Ctx, h: HealthReport) -> Result<Unknown<'e>> {
    let mut o = Object::new(env)?;
    o.set("healthy", h.healthy)?;
    o.set("uncoveredSlots", h.uncovered_slots as u32)?;
    let mut nodes = env.create_array(h.nodes.len() as u32)?;
    for (i, n) in h.nodes.iter().enumerate() {
        let mut no = Object::new(env)?;
        no.set("address", n.addr.to_string())?;
        match n.latency {
            Some(d) => no.set("latencyMs", d.as_secs_f64() * 1000.0)?,
            None => no.set("latencyMs", Null)?,
        }
        match &n.error {
            Some(e) => no.set("error", errors::to_js(env, &ctx.factory, e)?)?,
            None => no.set("error", Null)?,
        }
        nodes.set(i as u32, no)?;
    }
    o.set("nodes", nodes)?;
    o.into_unknown(env)
}
