//! The routing engine shared by every mode: slot routing, redirects, retries inside the
//! deadline, multi-key splitting, fan-out and pipelines. Standalone mode is the same engine
//! over a fixed one-shard topology, so every mode keeps the same invariants.

mod pipeline;
mod redirect;
mod route;
mod split;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rand::Rng;
use tokio::time::Instant;

use crate::config::Options;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::pool::Pool;
use crate::refresh::Refresher;
use crate::resp::Value;
use crate::slot::{self, Routing};
use crate::topology::{Addr, Topology};
use crate::Cmd;

pub(crate) use redirect::suggests_refresh;

/// Which kind of deployment the engine talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Cluster,
    Standalone,
}

/// Where one request goes.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// The primary owning this slot; `None` means any primary.
    Slot(Option<u16>),
    /// This exact node (fan-out).
    Node(Addr),
}

#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) mode: Mode,
    pub(crate) options: Options,
    pub(crate) seeds: Vec<Addr>,
    pub(crate) pool: Pool,
    topology: RwLock<Arc<Topology>>,
    version: AtomicU64,
    closed: AtomicBool,
    pub(crate) refresher: Option<Refresher>,
}

impl Core {
    pub(crate) fn new(
        mode: Mode,
        options: Options,
        seeds: Vec<Addr>,
        pool: Pool,
        topology: Topology,
        refresher: impl FnOnce(std::sync::Weak<Core>) -> Option<Refresher>,
    ) -> Arc<Core> {
        Arc::new_cyclic(|weak| Core {
            mode,
            options,
            seeds,
            pool,
            topology: RwLock::new(Arc::new(topology)),
            version: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            refresher: refresher(weak.clone()),
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

    /// Swaps in a new view; returns true when routing changed.
    pub(crate) fn install_topology(&self, new: Topology) -> bool {
        let mut guard = self.topology.write().unwrap_or_else(|p| p.into_inner());
        let changed = !guard.same_routing(&new);
        *guard = Arc::new(new);
        if changed {
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        changed
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

    pub(crate) fn trigger_refresh(&self) {
        if let Some(r) = &self.refresher {
            r.trigger();
        }
    }

    /// The node a target resolves to right now.
    fn resolve(&self, target: &Target) -> Option<Addr> {
        match target {
            Target::Node(a) => Some(a.clone()),
            Target::Slot(Some(s)) => self
                .topology()
                .shard_for_slot(*s)
                .map(|sh| sh.primary.addr.clone()),
            Target::Slot(None) => {
                let topo = self.topology();
                let serving: Vec<_> = topo
                    .shards()
                    .iter()
                    .filter(|s| !s.slots.is_empty())
                    .collect();
                if serving.is_empty() {
                    return None;
                }
                let i = rand::thread_rng().gen_range(0..serving.len());
                Some(serving[i].primary.addr.clone())
            }
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
        let info = slot::command_info(args);
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
                self.run(
                    cmd,
                    Target::Slot(slot::command_slot(args)),
                    info.readonly,
                    deadline,
                )
                .await
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
                let nodes: Vec<Addr> = self.topology().nodes().map(|n| n.addr.clone()).collect();
                self.fan_out(cmd, nodes, merge, info.readonly, deadline)
                    .await
            }
        }
    }
}
