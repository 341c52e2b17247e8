//! The routing engine shared by every mode: slot routing, read policies, redirects, retries
//! inside the deadline, failure marking, multi-key splitting, fan-out and pipelines.
//! Standalone mode is the same engine over a fixed one-shard topology, so every mode keeps the
//! same invariants.

mod health_check;
pub use health_check::{HealthReport, NodeReport};
pub use scan::Scan;
mod pipeline;
pub(crate) mod redirect;
mod route;
mod scan;
mod split;
mod transaction;
pub use transaction::Transaction;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use std::time::Duration;

use rand::Rng;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::config::{Options, ReadFrom};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::events::Event;
use crate::health::Health;
use crate::metrics::{Metrics, Trigger};
use crate::pool::Pool;
use crate::refresh::Refresher;
use crate::resp::Value;
use crate::slot::{self, Routing};
use crate::topology::{Addr, NodeHealth, Topology, TopologyDiff};
use crate::Cmd;

/// Which kind of deployment the engine talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Cluster,
    Standalone,
    /// A master and its replicas found through Sentinel: one shard, like standalone.
    Sentinel,
}

/// Where one request goes.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// The shard owning this slot (its primary, or a replica for reads under a read policy);
    /// `None` means any primary.
    Slot(Option<u16>),
    /// This exact node (fan-out).
    Node(Addr),
}

/// Which connection a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// The node's multiplexed connection.
    Shared,
    /// A connection of its own, closed after the reply: blocking commands (BLPOP...) hold
    /// their connection for as long as they block, which would stall everyone sharing it.
    Dedicated,
}

/// What routing decided for one attempt.
enum Route {
    /// Send it here.
    To(Addr),
    /// Nothing may serve it now (the primary is marked failed, or writes are held during a
    /// failover): wait for the failover or the recovery. The error says why.
    Wait(Error),
    /// No node is known for the target.
    Unknown,
}

#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) mode: Mode,
    pub(crate) options: Options,
    pub(crate) seeds: Vec<Addr>,
    pub(crate) pool: Pool,
    pub(crate) health: Health,
    pub(crate) metrics: Metrics,
    events: broadcast::Sender<Event>,
    topology: RwLock<Arc<Topology>>,
    /// The last view a refresh installed, before any MOVED patch: events and connection
    /// clean-up compare against it, so a change first seen through MOVED is still announced.
    confirmed: std::sync::Mutex<Arc<Topology>>,
    version: AtomicU64,
    closed: AtomicBool,
    round_robin: AtomicUsize,
    pub(crate) refresher: Option<Refresher>,
    pub(crate) sentinel: Option<crate::sentinel::SentinelState>,
}

impl Core {
    pub(crate) fn new(
        mode: Mode,
        options: Options,
        seeds: Vec<Addr>,
        pool: Pool,
        topology: Topology,
        sentinel: Option<crate::sentinel::SentinelState>,
        refresher: impl FnOnce(std::sync::Weak<Core>) -> Option<Refresher>,
    ) -> Arc<Core> {
        // Every mode probes marked nodes; round trips are measured wherever the lowest-latency
        // read policy can pick a replica (cluster and Sentinel).
        let probe = options.probe_interval;
        let rtt = mode != Mode::Standalone && options.read_from == ReadFrom::LowestLatency;
        Arc::new_cyclic(|weak| {
            crate::health::spawn_probe(weak.clone(), probe, rtt);
            Core {
                mode,
                options,
                seeds,
                pool,
                health: Health::default(),
                metrics: Metrics::default(),
                events: broadcast::channel(1024).0,
                confirmed: std::sync::Mutex::new(Arc::new(topology.clone())),
                topology: RwLock::new(Arc::new(topology)),
                version: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                round_robin: AtomicUsize::new(0),
                refresher: refresher(weak.clone()),
                sentinel,
            }
        })
    }

    /// The topology in use. Never blocks on a refresh: it is a pointer swap away.
    pub(crate) fn topology(&self) -> Arc<Topology> {
        self.topology
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn topology_version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, e: Event) {
        // No receiver is fine: events are optional for the application.
        let _ = self.events.send(e);
    }

    /// Swaps in a new view, announcing what changed since the last confirmed view.
    pub(crate) fn install_topology(&self, new: Topology) -> TopologyDiff {
        let new = Arc::new(new);
        let diff = {
            let mut confirmed = self.confirmed.lock().unwrap_or_else(|p| p.into_inner());
            let diff = TopologyDiff::between(&confirmed, &new);
            *confirmed = new.clone();
            diff
        };
        let routing_changed = {
            let mut guard = self.topology.write().unwrap_or_else(|p| p.into_inner());
            let changed = !guard.same_routing(&new);
            *guard = new;
            changed
        };
        if routing_changed || !diff.is_empty() {
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        if !diff.is_empty() {
            for (old_primary, new_primary) in &diff.failovers {
                self.emit(Event::Failover {
                    old_primary: old_primary.clone(),
                    new_primary: new_primary.clone(),
                });
            }
            self.emit(Event::TopologyChanged {
                version: self.topology_version(),
                diff: diff.clone(),
            });
        }
        diff
    }

    /// MOVED: route the slot to `addr` right away, before the background refresh confirms it.
    fn apply_moved(&self, slot: u16, addr: &Addr) {
        let mut guard = self.topology.write().unwrap_or_else(|p| p.into_inner());
        if guard.shard_for_slot(slot).map(|s| &s.primary.addr) == Some(addr) {
            return;
        }
        *guard = Arc::new(guard.with_slot_moved(slot, addr));
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// A MOVED reply: counted, the slot patched at once, a refresh triggered to confirm.
    pub(crate) fn follow_moved(&self, slot: u16, addr: &Addr) {
        Metrics::bump(&self.metrics.moved);
        self.apply_moved(slot, addr);
        self.trigger_refresh(Trigger::Moved);
    }

    pub(crate) fn trigger_refresh(&self, why: Trigger) {
        if let Some(r) = &self.refresher {
            r.trigger(why);
        }
    }

    /// Triggers refreshes (every 200 ms, each still coalesced and spaced by the refresher)
    /// until the topology in use satisfies `done` or `within` passes. For a server that said
    /// its slots moved without a MOVED to follow (it unsubscribed a sharded channel): the
    /// nodes asked right after a failover may not have heard of it yet, and nothing else would
    /// ask again until the periodic refresh (seen: a demoted primary kept taking SPUBLISH as a
    /// replica, and the client kept the old view for the whole 30 s period). `done` rather
    /// than "the version changed": a refresh that brought some other news (a replica that
    /// attached late) must not end the wait for the one that matters.
    pub(crate) fn refresh_until(
        self: &Arc<Self>,
        why: Trigger,
        within: Duration,
        done: impl Fn(&Topology) -> bool + Send + 'static,
    ) {
        let weak = Arc::downgrade(self);
        let end = tokio::time::Instant::now() + within;
        tokio::spawn(async move {
            while tokio::time::Instant::now() < end {
                let Some(core) = weak.upgrade() else { return };
                if done(&core.topology()) || core.check_open().is_err() {
                    return;
                }
                core.trigger_refresh(why);
                drop(core);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }

    /// Sends commands to one node over its shared connection, marking it failed on a failure
    /// in any phase.
    pub(crate) async fn send_to(
        &self,
        addr: &Addr,
        cmds: &[Cmd],
        deadline: Instant,
    ) -> Result<Vec<Value>> {
        self.send_via(addr, cmds, deadline, Via::Shared).await
    }

    /// [`Core::send_to`] over the connection `via` says.
    pub(crate) async fn send_via(
        &self,
        addr: &Addr,
        cmds: &[Cmd],
        deadline: Instant,
        via: Via,
    ) -> Result<Vec<Value>> {
        let sent = match via {
            Via::Shared => match self.pool.get(addr, || self.metrics.connect(addr)).await {
                Ok(conn) => conn.send_many(cmds, deadline).await,
                Err(e) => Err(e),
            },
            Via::Dedicated => {
                self.metrics.connect(addr);
                match self.pool.open(addr).await {
                    Ok(conn) => conn.send_many(cmds, deadline).await,
                    Err(e) => Err(e),
                }
            }
        };
        self.observe(addr, &sent);
        sent
    }

    /// Records the result of talking to `addr`: a failure in any phase marks the node.
    pub(crate) fn observe<T>(&self, addr: &Addr, result: &Result<T>) {
        match result {
            Ok(_) => self.health.success(addr),
            Err(e) => {
                if let Some(event) = self.health.failure(addr, e) {
                    Metrics::bump(&self.metrics.marks);
                    tracing::warn!(%addr, error = %e, "node marked failed");
                    self.emit(event);
                    self.trigger_refresh(Trigger::ConnectionFailure);
                }
            }
        }
    }

    /// Picks the node for one attempt.
    fn route(&self, target: &Target, readonly: bool) -> Route {
        let topo = self.topology();
        let shard = match target {
            Target::Node(a) => return Route::To(a.clone()),
            Target::Slot(Some(s)) => topo.shard_for_slot(*s),
            Target::Slot(None) => {
                let serving: Vec<_> = topo
                    .shards()
                    .iter()
                    .filter(|s| !s.slots.is_empty() && !self.health.is_marked(&s.primary.addr))
                    .collect();
                (!serving.is_empty())
                    .then(|| serving[rand::thread_rng().gen_range(0..serving.len())])
            }
        };
        let Some(shard) = shard else {
            return Route::Unknown;
        };
        if readonly && self.mode != Mode::Standalone && self.options.read_from != ReadFrom::Primary
        {
            let usable = |a: &Addr| !self.health.is_marked(a);
            let replicas: Vec<&Addr> = shard
                .replicas
                .iter()
                .filter(|r| r.health == NodeHealth::Online && usable(&r.addr))
                .map(|r| &r.addr)
                .collect();
            let pick = match self.options.read_from {
                ReadFrom::LowestLatency => std::iter::once(&shard.primary.addr)
                    .filter(|a| usable(a))
                    .chain(replicas.iter().copied())
                    .min_by_key(|a| self.health.rtt(a).unwrap_or(std::time::Duration::MAX)),
                ReadFrom::ReplicasRoundRobin if !replicas.is_empty() => Some(
                    replicas[self.round_robin.fetch_add(1, Ordering::Relaxed) % replicas.len()],
                ),
                _ if !replicas.is_empty() => {
                    Some(replicas[rand::thread_rng().gen_range(0..replicas.len())])
                }
                _ => None,
            };
            if let Some(a) = pick {
                return Route::To(a.clone());
            }
        }
        let primary = &shard.primary.addr;
        // While our master's failover is announced, writes wait for the new master.
        let fenced = !readonly && self.sentinel.as_ref().is_some_and(|s| s.is_fenced());
        if fenced {
            Route::Wait(Error::new(
                ErrorKind::MasterDown,
                Outcome::NotRun,
                format!("write held: a failover of {primary} is under way"),
            ))
        } else if self.health.is_marked(primary) {
            Route::Wait(Error::new(
                ErrorKind::Connect,
                Outcome::NotRun,
                format!("{primary} is marked failed"),
            ))
        } else {
            Route::To(primary.clone())
        }
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                Outcome::NotRun,
                "the client is closed",
            ));
        }
        Ok(())
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.pool.close_all();
    }

    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.options.request_timeout
    }

    /// Runs one command wherever it belongs; a top-level error reply becomes `Err`.
    pub(crate) async fn execute(&self, cmd: &Cmd, deadline: Instant) -> Result<Value> {
        self.check_open()?;
        let args = cmd.args();
        if args.is_empty() {
            return Err(Error::invalid("empty command"));
        }
        let (info, key_slot) = slot::command_route(args);
        match info.routing {
            Routing::Unsupported => Err(Error::invalid(format!(
                "{} is not supported on a shared multiplexed connection",
                String::from_utf8_lossy(&cmd.name_upper())
            ))),
            Routing::Keyed => {
                if self.mode == Mode::Cluster {
                    if let Some(kind) = info.split {
                        if let Some(groups) = split::by_slot(args, kind) {
                            return self.run_split(groups, kind, info.readonly, deadline).await;
                        }
                    }
                }
                let target = Target::Slot(key_slot);
                if info.blocking {
                    // Its own connection, and a deadline that covers the block it asks for
                    // (0 = until data arrives, as the caller asked).
                    let deadline = match slot::block_time(args) {
                        Some(t) if t.is_zero() => {
                            Instant::now() + Duration::from_secs(100 * 365 * 86_400)
                        }
                        Some(t) => deadline + t,
                        None => deadline,
                    };
                    return self
                        .run_via(cmd, target, info.readonly, deadline, Via::Dedicated)
                        .await;
                }
                self.run(cmd, target, info.readonly, deadline).await
            }
            Routing::AnyPrimary => {
                self.run(cmd, Target::Slot(None), info.readonly, deadline)
                    .await
            }
            Routing::AllPrimaries(merge) => {
                let nodes: Vec<Addr> = self
                    .topology()
                    .primaries()
                    .map(|n| n.addr.clone())
                    .collect();
                self.fan_out(cmd, nodes, merge, info.readonly, deadline)
                    .await
            }
            Routing::AllNodes(merge) => {
                // Every node that can answer: not failed in the cluster's view, not marked.
                let nodes: Vec<Addr> = self
                    .topology()
                    .nodes()
                    .filter(|n| n.health != NodeHealth::Failed && !self.health.is_marked(&n.addr))
                    .map(|n| n.addr.clone())
                    .collect();
                self.fan_out(cmd, nodes, merge, info.readonly, deadline)
                    .await
            }
        }
    }
}
