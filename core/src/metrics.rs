//! Counters of what the client did to follow the deployment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::topology::Addr;

/// Why a topology refresh ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Trigger {
    /// The first discovery.
    Startup,
    /// A MOVED redirect.
    Moved,
    /// Repeated ASK redirects for one request.
    Ask,
    /// A connect, write or read failure.
    ConnectionFailure,
    /// A READONLY reply (a write reached a replica).
    ReadOnly,
    /// A CLUSTERDOWN or MASTERDOWN reply.
    ClusterDown,
    /// Repeated TRYAGAIN replies for one request.
    TryAgain,
    /// The periodic safety net.
    Periodic,
    /// An explicit `refresh_topology()` call.
    Explicit,
    /// A marked node answered the probe again.
    NodeRecovered,
    /// A sentinel announced a failover step or a new master.
    Sentinel,
}

const TRIGGERS: [Trigger; 11] = [
    Trigger::Startup,
    Trigger::Moved,
    Trigger::Ask,
    Trigger::ConnectionFailure,
    Trigger::ReadOnly,
    Trigger::ClusterDown,
    Trigger::TryAgain,
    Trigger::Periodic,
    Trigger::Explicit,
    Trigger::NodeRecovered,
    Trigger::Sentinel,
];

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Topology refreshes run, by the trigger that started each.
    pub refreshes: HashMap<Trigger, u64>,
    /// Topology queries sent to nodes.
    pub topology_queries: u64,
    /// MOVED redirects followed.
    pub moved_redirects: u64,
    /// ASK redirects followed.
    pub ask_redirects: u64,
    /// Requests resent after a transient state or a failure.
    pub retries: u64,
    /// Times a node was marked failed.
    pub nodes_marked: u64,
    /// Connection attempts made for requests and refreshes, per node (probes not included).
    pub connects: HashMap<Addr, u64>,
    /// Probe connection attempts to marked nodes, per node.
    pub probes: HashMap<Addr, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    refreshes: [AtomicU64; TRIGGERS.len()],
    pub topology_queries: AtomicU64,
    pub moved: AtomicU64,
    pub ask: AtomicU64,
    pub retries: AtomicU64,
    pub marks: AtomicU64,
    connects: Mutex<HashMap<Addr, u64>>,
    probes: Mutex<HashMap<Addr, u64>>,
}

impl Metrics {
    pub fn refresh(&self, t: Trigger) {
        if let Some(i) = TRIGGERS.iter().position(|x| *x == t) {
            self.refreshes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn connect(&self, addr: &Addr) {
        *self
            .connects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr.clone())
            .or_default() += 1;
    }

    pub fn probe(&self, addr: &Addr) {
        *self
            .probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr.clone())
            .or_default() += 1;
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            refreshes: TRIGGERS
                .iter()
                .zip(&self.refreshes)
                .map(|(t, c)| (*t, get(c)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            topology_queries: get(&self.topology_queries),
            moved_redirects: get(&self.moved),
            ask_redirects: get(&self.ask),
            retries: get(&self.retries),
            nodes_marked: get(&self.marks),
            connects: self
                .connects
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            probes: self
                .probes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
