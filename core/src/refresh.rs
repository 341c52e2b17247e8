//! The one topology refresher: triggers (MOVED, connection failures, CLUSTERDOWN, a periodic
//! timer, an explicit call) coalesce into one refresh; a minimum gap stops refresh storms;
//! every topology query has its own timeout and several sources are asked in parallel, so one
//! hung node never blocks a refresh. Readers never wait for it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cluster::Core;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::metrics::{Metrics, Trigger};
use crate::resp::Value;
use crate::topology::{
    parse_cluster_shards_tls, parse_cluster_slots, parse_config_epochs, Addr, NodeHealth, Shard,
    Topology,
};
use crate::{cmd, Cmd};

/// Known nodes asked per refresh, besides the startup nodes.
const SAMPLE: usize = 3;

/// Handle to the refresher task (cluster mode).
#[derive(Debug)]
pub(crate) struct Refresher {
    trigger: mpsc::Sender<Trigger>,
    status: watch::Receiver<Status>,
}

#[derive(Clone, Debug, Default)]
struct Status {
    started: u64,
    finished: u64,
    last_error: Option<Error>,
}

impl Refresher {
    pub(crate) fn spawn(core: Weak<Core>, interval: Duration, min_gap: Duration) -> Refresher {
        // Capacity 1: any number of triggers while one is pending collapse into it.
        let (trigger, rx) = mpsc::channel(1);
        let (status_tx, status) = watch::channel(Status::default());
        tokio::spawn(run(core, rx, status_tx, interval, min_gap));
        Refresher { trigger, status }
    }

    pub(crate) fn trigger(&self, why: Trigger) {
        let _ = self.trigger.try_send(why);
    }

    /// Triggers a refresh and waits until one that started after this call has finished.
    pub(crate) async fn refresh_and_wait(&self, deadline: Instant) -> Result<()> {
        let mut status = self.status.clone();
        let target = status.borrow().started + 1;
        // An explicit call must not be swallowed by a pending automatic trigger's slot.
        let _ = tokio::time::timeout_at(deadline, self.trigger.send(Trigger::Explicit)).await;
        let waited =
            tokio::time::timeout_at(deadline, status.wait_for(|s| s.finished >= target)).await;
        match waited {
            Ok(Ok(s)) => match &s.last_error {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            },
            Ok(Err(_)) => Err(Error::new(
                ErrorKind::Closed,
                Outcome::NotRun,
                "the client is closed",
            )),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                Outcome::NotRun,
                "topology refresh did not finish in time",
            )),
        }
    }
}

async fn run(
    core: Weak<Core>,
    mut rx: mpsc::Receiver<Trigger>,
    status: watch::Sender<Status>,
    interval: Duration,
    min_gap: Duration,
) {
    loop {
        let period = interval.mul_f64(rand::thread_rng().gen_range(0.8..1.2));
        let why = tokio::select! {
            t = rx.recv() => match t { Some(t) => t, None => return },
            _ = tokio::time::sleep(period) => Trigger::Periodic,
        };
        let Some(core) = core.upgrade() else { return };
        if core.check_open().is_err() {
            return;
        }
        status.send_modify(|s| s.started += 1);
        core.metrics.refresh(why);
        let outcome = refresh(&core).await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, trigger = ?why, "topology refresh failed");
        }
        status.send_modify(|s| {
            s.finished = s.started;
            s.last_error = outcome.err();
        });
        drop(core);
        let gap = min_gap.mul_f64(rand::thread_rng().gen_range(1.0..1.5));
        tokio::time::sleep(gap).await;
    }
}

/// Reads the deployment's topology again and installs it. Returns true when it changed.
pub(crate) async fn refresh(core: &Arc<Core>) -> Result<bool> {
    let (topo, sources) = match &core.sentinel {
        Some(s) => (
            crate::sentinel::discover(core, s).await?,
            s.sentinels.clone(),
        ),
        None => {
            let sources = cluster_sources(core);
            let current = core.topology();
            let topo = discover(core, &sources.ask, &current)
                .await
                .map_err(|e| sources.resolve_errors.apply(e))?;
            let mut keep = sources.ask;
            keep.extend(sources.marked_seeds);
            (topo, keep)
        }
    };
    let before = core.topology();
    let diff = core.install_topology(topo);
    let topo = core.topology();
    if let (Some(s), Some(master)) = (&core.sentinel, topo.primaries().next()) {
        s.on_master(&master.addr);
    }
    // A demoted primary that is failed, unreachable or gone (a paused one that wakes up, a
    // master Sentinel has not reconfigured yet) may still run what is queued on our connection
    // as primary: drop that connection, so nothing there is acknowledged. One the cluster
    // reports online (a graceful failover) answers what is in flight with MOVED, which is
    // retried safely: closing it would turn those into "may have run" failures.
    for old in before
        .primaries()
        .filter(|o| !topo.primaries().any(|n| n.addr == o.addr))
    {
        let online = topo
            .nodes()
            .find(|n| n.addr == old.addr)
            .is_some_and(|n| n.health == NodeHealth::Online);
        if core.sentinel.is_some() || !online || core.health.is_marked(&old.addr) {
            core.pool.close(&old.addr);
        }
    }
    if diff.is_empty() {
        return Ok(false);
    }
    tracing::info!(version = core.topology_version(), ?diff, "topology changed");
    let keep = |a: &Addr| topo.nodes().any(|n| &n.addr == a) || sources.contains(a);
    core.pool.retain(&keep);
    core.health.retain(&keep);
    Ok(true)
}

/// Errors of the `resolver` option, reported with the sources' errors when no source answers.
struct ResolveErrors(Vec<String>);

impl ResolveErrors {
    fn apply(&self, e: Error) -> Error {
        if self.0.is_empty() {
            e
        } else {
            e.context(self.0.join("; "))
        }
    }
}

/// Whom a cluster refresh asks.
struct Sources {
    /// A random sample of known, unmarked nodes plus every unmarked startup node (re-resolved).
    ask: Vec<Addr>,
    /// Startup nodes left out because they are marked: kept (with their marks) all the same.
    marked_seeds: Vec<Addr>,
    resolve_errors: ResolveErrors,
}

/// A random sample of known, unmarked nodes plus every unmarked startup node (re-resolved);
/// marked startup nodes only when nothing else is left.
fn cluster_sources(core: &Core) -> Sources {
    let mut sources: Vec<Addr> = core
        .topology()
        .nodes()
        .map(|n| n.addr.clone())
        .filter(|a| !core.health.is_marked(a))
        .collect();
    sources.shuffle(&mut rand::thread_rng());
    sources.truncate(SAMPLE);
    let mut errors = Vec::new();
    // Startup nodes that are marked failed are skipped like marked known nodes (the probe
    // restores them), unless nothing else is left to ask.
    let mut marked_seeds = Vec::new();
    for seed in &core.seeds {
        let resolved = match &core.options.resolver {
            Some(resolve) => resolve(seed).unwrap_or_else(|e| {
                errors.push(format!("resolver for {seed}: {e}"));
                Vec::new()
            }),
            None => vec![seed.clone()],
        };
        for a in resolved {
            if core.health.is_marked(&a) {
                marked_seeds.push(a);
            } else if !sources.contains(&a) {
                sources.push(a);
            }
        }
    }
    if sources.is_empty() {
        sources = std::mem::take(&mut marked_seeds);
        sources.sort();
        sources.dedup();
    }
    Sources {
        ask: sources,
        marked_seeds,
        resolve_errors: ResolveErrors(errors),
    }
}

/// Queries `sources` in parallel, each under its own timeout, and picks a view: the one most
/// sources agree on, then the one with newer config epochs, then the one covering more slots.
/// A view that would hand a slot back to a primary with an older epoch than its owner in
/// `current` is refused (a paused primary that wakes up still claiming its slots).
///
/// A source that hangs must not hold the refresh up to its query timeout: once the first
/// usable view is in, the others get a short grace (a tenth of the query timeout, or as long
/// as the first answer took if that was longer) to add their votes, and the rest are dropped.
async fn discover(core: &Core, sources: &[Addr], current: &Topology) -> Result<Topology> {
    let timeout = core.options.topology_query_timeout;
    let started = Instant::now();
    let mut answers: FuturesUnordered<_> = sources
        .iter()
        .map(|a| async move {
            let deadline = Instant::now() + timeout;
            let answer = match tokio::time::timeout_at(deadline, query(core, a, deadline)).await {
                Ok(r) => r,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    Outcome::NotRun,
                    format!("{a}: no topology reply in {timeout:?}"),
                )),
            };
            (a, answer)
        })
        .collect();
    let mut views: Vec<(Topology, usize)> = Vec::new();
    let mut errors = Vec::new();
    // Every source refusing our credentials is an authentication error, not a topology one.
    let mut auth_failures = 0;
    let mut cutoff: Option<Instant> = None;
    loop {
        let next = match cutoff {
            None => answers.next().await,
            Some(c) => match tokio::time::timeout_at(c, answers.next()).await {
                Ok(next) => next,
                Err(_) => {
                    errors.push(format!(
                        "{} source(s) not waited for after the first usable view",
                        answers.len()
                    ));
                    break;
                }
            },
        };
        let Some((addr, answer)) = next else { break };
        match answer {
            Ok(t) if t.covered_slots() == 0 => errors.push(format!("{addr}: serves no slots")),
            Ok(t) => match older_than(&t, current) {
                Some(why) => errors.push(format!("{addr}: stale view ignored ({why})")),
                None => {
                    match views.iter_mut().find(|(v, _)| v.same_routing(&t)) {
                        Some((_, votes)) => *votes += 1,
                        None => views.push((t, 1)),
                    }
                    if cutoff.is_none() {
                        let grace = (timeout / 10).max(started.elapsed());
                        cutoff = Some(Instant::now() + grace);
                    }
                }
            },
            Err(e) => {
                auth_failures += usize::from(e.kind() == ErrorKind::Auth);
                errors.push(e.to_string())
            }
        }
    }
    let kind = if auth_failures > 0 && auth_failures == errors.len() {
        ErrorKind::Auth
    } else {
        ErrorKind::Topology
    };
    views
        .into_iter()
        .max_by_key(|(t, votes)| (*votes, epoch_score(t), t.covered_slots()))
        .map(|(t, _)| t)
        .ok_or_else(|| {
            Error::new(
                kind,
                Outcome::NotRun,
                format!(
                    "no node returned a usable cluster topology: {}",
                    errors.join("; ")
                ),
            )
        })
}

fn epoch_score(t: &Topology) -> u64 {
    t.shards()
        .iter()
        .filter(|s| !s.slots.is_empty())
        .map(|s| s.primary.config_epoch)
        .sum()
}

/// Why `new` is older than `current` for some slot, if it is: the slot's owner changes to a
/// primary whose epoch is lower than the current owner's, and the current owner is still a
/// member of `new` (a different cluster at the same addresses is not "older").
fn older_than(new: &Topology, current: &Topology) -> Option<String> {
    for shard in new.shards() {
        let Some(&(first, _)) = shard.slots.first() else {
            continue;
        };
        let Some(owner) = current.shard_for_slot(first).map(|s| &s.primary) else {
            continue;
        };
        let (ne, ce) = (shard.primary.config_epoch, owner.config_epoch);
        if owner.addr != shard.primary.addr
            && ne > 0
            && ce > ne
            && !owner.id.is_empty()
            && new.nodes().any(|n| n.id == owner.id)
        {
            return Some(format!(
                "slot {first} to {} (epoch {ne}) while {} holds it with epoch {ce}",
                shard.primary.addr, owner.addr
            ));
        }
    }
    None
}

async fn query(core: &Core, addr: &Addr, deadline: Instant) -> Result<Topology> {
    Metrics::bump(&core.metrics.topology_queries);
    let both = [cmd("CLUSTER").arg("SHARDS"), cmd("CLUSTER").arg("NODES")];
    let mut replies = core.send_to(addr, &both, deadline).await?.into_iter();
    let (shards_reply, nodes_reply) = (
        replies.next().unwrap_or(Value::Nil),
        replies.next().unwrap_or(Value::Nil),
    );
    let mut shards = match shards_reply {
        Value::Error(msg) if is_unknown_command(&msg) => {
            match one(core, addr, &cmd("CLUSTER").arg("SLOTS"), deadline).await? {
                Value::Error(msg) => return Err(Error::from_server(&msg).context(addr)),
                v => parse_cluster_slots(&v, addr)?,
            }
        }
        Value::Error(msg) => return Err(Error::from_server(&msg).context(addr)),
        v => parse_cluster_shards_tls(&v, addr, core.options.tls.is_some())?,
    };
    let epochs = nodes_reply
        .as_bytes()
        .map(parse_config_epochs)
        .unwrap_or_default();
    for shard in &mut shards {
        prepare(shard, &epochs);
    }
    Topology::from_shards(shards).map_err(|e| e.context(addr))
}

/// Fills in every node's config epoch.
fn prepare(shard: &mut Shard, epochs: &std::collections::HashMap<String, u64>) {
    for node in std::iter::once(&mut shard.primary).chain(shard.replicas.iter_mut()) {
        node.config_epoch = epochs.get(&node.id).copied().unwrap_or(0);
    }
}

async fn one(core: &Core, addr: &Addr, c: &Cmd, deadline: Instant) -> Result<Value> {
    let mut v = core
        .send_to(addr, std::slice::from_ref(c), deadline)
        .await?;
    v.pop().ok_or_else(|| Error::protocol("no reply"))
}

fn is_unknown_command(msg: &[u8]) -> bool {
    let m = String::from_utf8_lossy(msg).to_ascii_lowercase();
    m.contains("unknown subcommand") || m.contains("unknown command")
}

#[cfg(test)]
mod tests {
    use super::older_than;
    use crate::topology::{Addr, Node, Role, Shard, Topology};

    fn primary(id: &str, port: u16, epoch: u64) -> Node {
        let mut n = Node::new(id, Addr::new("127.0.0.1", port), Role::Primary);
        n.config_epoch = epoch;
        n
    }

    fn replica(id: &str, port: u16) -> Node {
        Node::new(id, Addr::new("127.0.0.1", port), Role::Replica)
    }

    #[test]
    fn a_woken_old_primary_does_not_win_back_its_slots() {
        // In use: B (epoch 7) took over from A (epoch 3) after a failover.
        let current = Topology::from_shards(vec![Shard::new(
            vec![(0, 16383)],
            primary("B", 2, 7),
            vec![replica("A", 1)],
        )])
        .unwrap();
        // A wakes up and still claims the slots, with its old epoch; it knows B.
        let stale = Topology::from_shards(vec![Shard::new(
            vec![(0, 16383)],
            primary("A", 1, 3),
            vec![replica("B", 2)],
        )])
        .unwrap();
        assert!(older_than(&stale, &current).is_some());
        // The reverse, a newer epoch taking over, is a normal failover.
        assert!(older_than(&current, &stale).is_none());
        // A different cluster at the same addresses (the old owner's id is gone) is not older.
        let rebuilt = Topology::from_shards(vec![Shard::new(
            vec![(0, 16383)],
            primary("C", 1, 1),
            vec![],
        )])
        .unwrap();
        assert!(older_than(&rebuilt, &current).is_none());
        // Unknown epochs never block a view.
        let unknown = Topology::from_shards(vec![Shard::new(
            vec![(0, 16383)],
            primary("A", 1, 0),
            vec![replica("B", 2)],
        )])
        .unwrap();
        assert!(older_than(&unknown, &current).is_none());
    }
}
