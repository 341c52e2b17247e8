//! Per-node failure marking. A node is marked on a failure in any phase (connect, write,
//! read) and skipped by routing wherever another node can serve; a background probe restores
//! it once it answers. Permanent failures (refused, reset, unresolvable) mark at once; a
//! timeout is transient and marks only when it repeats.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use crate::cluster::Core;
use crate::cmd;
use crate::error::{Error, ErrorKind, Outcome};
use crate::events::Event;
use crate::metrics::Trigger;
use crate::topology::{Addr, NodeHealth};

/// Consecutive request timeouts after which a node is marked (transiently).
const TIMEOUTS_TO_MARK: u32 = 3;

#[derive(Debug, Default)]
pub(crate) struct Health {
    marks: Mutex<HashSet<Addr>>,
    /// Fast path for every request: almost always, no node is marked.
    any_marked: AtomicBool,
    timeouts: Mutex<HashMap<Addr, u32>>,
    /// Fast path: most requests succeed and most nodes never time out.
    any_timeouts: AtomicBool,
    rtt: Mutex<HashMap<Addr, Duration>>,
}

/// How a failure counts against a node: `Some(permanent)` to mark it, `None` to not count it.
/// A refused, unresolvable or reset connection is permanent; a connect that got no answer is
/// transient; a connection the client closed itself, or a request never written, says
/// nothing about the node.
fn classify(e: &Error) -> Option<bool> {
    match (e.kind(), e.outcome()) {
        (ErrorKind::Connect, _) => Some(!e.message().contains(crate::conn::NO_ANSWER)),
        (ErrorKind::Io, Outcome::MayHaveRun) => Some(true),
        _ => None,
    }
}

impl Health {
    pub fn is_marked(&self, addr: &Addr) -> bool {
        self.any_marked.load(Ordering::Acquire) && self.lock_marks().contains(addr)
    }

    pub fn marked(&self) -> Vec<Addr> {
        self.lock_marks().iter().cloned().collect()
    }

    /// Records a failure; returns the event when it newly marks the node.
    pub fn failure(&self, addr: &Addr, e: &Error) -> Option<Event> {
        let permanent = match classify(e) {
            Some(p) => p,
            None if e.kind() == ErrorKind::Timeout && e.outcome() == Outcome::MayHaveRun => {
                self.any_timeouts.store(true, Ordering::Relaxed);
                let mut t = self.timeouts.lock().unwrap_or_else(|p| p.into_inner());
                let n = t.entry(addr.clone()).or_default();
                *n += 1;
                if *n < TIMEOUTS_TO_MARK {
                    return None;
                }
                t.remove(addr);
                false
            }
            None => return None,
        };
        {
            let mut marks = self.lock_marks();
            if !marks.insert(addr.clone()) {
                return None;
            }
            self.any_marked.store(true, Ordering::Release);
        }
        Some(Event::NodeFailed {
            addr: addr.clone(),
            reason: e.message().to_owned(),
            permanent,
        })
    }

    pub fn success(&self, addr: &Addr) {
        if self.any_timeouts.load(Ordering::Relaxed) {
            let mut t = self.timeouts.lock().unwrap_or_else(|p| p.into_inner());
            t.remove(addr);
            if t.is_empty() {
                self.any_timeouts.store(false, Ordering::Relaxed);
            }
        }
    }

    /// Unmarks; true when the node was marked.
    pub fn clear(&self, addr: &Addr) -> bool {
        let mut marks = self.lock_marks();
        let was = marks.remove(addr);
        self.any_marked.store(!marks.is_empty(), Ordering::Release);
        was
    }

    /// Forgets nodes that left the deployment, so nothing probes them any more.
    pub fn retain(&self, keep: &dyn Fn(&Addr) -> bool) {
        {
            let mut marks = self.lock_marks();
            marks.retain(|a| keep(a));
            self.any_marked.store(!marks.is_empty(), Ordering::Release);
        }
        self.timeouts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a, _| keep(a));
        self.rtt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a, _| keep(a));
    }

    pub fn rtt(&self, addr: &Addr) -> Option<Duration> {
        self.rtt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(addr)
            .copied()
    }

    fn record_rtt(&self, addr: &Addr, d: Duration) {
        let mut rtt = self.rtt.lock().unwrap_or_else(|p| p.into_inner());
        let e = rtt.entry(addr.clone()).or_insert(d);
        // Smoothed, so one slow reply does not swing routing.
        *e = (*e * 3 + d) / 4;
    }

    fn lock_marks(&self) -> std::sync::MutexGuard<'_, HashSet<Addr>> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Probes marked nodes every `probe_interval` with a fresh connection and a PING; measures
/// live nodes' round trips when a latency-based read policy needs them.
pub(crate) fn spawn_probe(core: Weak<Core>, interval: Duration, measure_rtt: bool) {
    tokio::spawn(async move {
        let mut tick = 0u64;
        loop {
            tokio::time::sleep(interval).await;
            let Some(core) = core.upgrade() else { return };
            if core.check_open().is_err() {
                return;
            }
            let marked = core.health.marked();
            join_all(marked.iter().map(|a| probe(&core, a))).await;
            tick += 1;
            if measure_rtt && tick % 5 == 0 {
                let nodes: Vec<Addr> = core.topology().nodes().map(|n| n.addr.clone()).collect();
                join_all(
                    nodes
                        .iter()
                        .filter(|a| !core.health.is_marked(a))
                        .map(|a| measure(&core, a)),
                )
                .await;
            }
        }
    });
}

async fn probe(core: &Arc<Core>, addr: &Addr) {
    core.metrics.probe(addr);
    let deadline = Instant::now() + core.options.connect_timeout;
    let Ok(conn) = core.pool.open(addr).await else {
        return;
    };
    if !matches!(conn.send(&cmd("PING"), deadline).await, Ok(v) if !v.is_error()) {
        return;
    }
    core.pool.put(addr, Arc::new(conn));
    if core.health.clear(addr) {
        tracing::info!(%addr, "node answers again");
        core.emit(Event::NodeRecovered { addr: addr.clone() });
        core.trigger_refresh(Trigger::NodeRecovered);
        follow_recovery(core, addr.clone());
    }
}

/// Refreshes after a node recovered, backing off, until the cluster reports it online (or it
/// is marked again, or it left). The cluster's view lags behind the probe: its failure flag
/// is cleared a moment later, and a restarted replica shows as loading until it has synced.
/// Without this, the refresh the recovery triggers would see it still failed and routing
/// would leave it unused until the periodic refresh.
fn follow_recovery(core: &Arc<Core>, addr: Addr) {
    let core = Arc::downgrade(core);
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(250);
        for _ in 0..6 {
            tokio::time::sleep(wait).await;
            wait *= 2;
            let Some(core) = core.upgrade() else { return };
            if core.check_open().is_err() || core.health.is_marked(&addr) {
                return;
            }
            let topo = core.topology();
            let node = topo.nodes().find(|n| n.addr == addr);
            if node.is_none_or(|n| n.health == NodeHealth::Online) {
                return;
            }
            core.trigger_refresh(Trigger::NodeRecovered);
        }
    });
}

async fn measure(core: &Arc<Core>, addr: &Addr) {
    let started = Instant::now();
    if let Ok(Ok(v)) = tokio::time::timeout(
        core.options.connect_timeout,
        core.send_to(addr, &[cmd("PING")], started + core.options.connect_timeout),
    )
    .await
    {
        if !v.iter().any(|v| v.is_error()) {
            core.health.record_rtt(addr, started.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> Error {
        Error::new(
            ErrorKind::Connect,
            Outcome::NotRun,
            "connect to a:1: Connection refused",
        )
    }

    #[test]
    fn marks_on_permanent_failures_and_counts_timeouts() {
        let h = Health::default();
        let a = Addr::new("127.0.0.1", 7000);
        assert!(!h.is_marked(&a));
        assert!(matches!(
            h.failure(&a, &refused()),
            Some(Event::NodeFailed {
                permanent: true,
                ..
            })
        ));
        assert!(h.is_marked(&a));
        assert!(h.failure(&a, &refused()).is_none(), "marked once");
        assert!(h.clear(&a));
        assert!(!h.is_marked(&a));

        let slow = Error::new(ErrorKind::Timeout, Outcome::MayHaveRun, "no reply");
        assert!(h.failure(&a, &slow).is_none());
        h.success(&a);
        assert!(h.failure(&a, &slow).is_none());
        assert!(h.failure(&a, &slow).is_none());
        assert!(matches!(
            h.failure(&a, &slow),
            Some(Event::NodeFailed {
                permanent: false,
                ..
            })
        ));

        let ours = Error::new(
            ErrorKind::Closed,
            Outcome::MayHaveRun,
            "closed by the client",
        );
        let b = Addr::new("127.0.0.1", 7001);
        assert!(
            h.failure(&b, &ours).is_none(),
            "our own close says nothing about the node"
        );
        h.retain(&|x| x != &a);
        assert!(!h.is_marked(&a));
    }
}
