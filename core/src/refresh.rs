//! The one topology refresher: triggers (MOVED, connection failures, CLUSTERDOWN, a periodic
//! timer, an explicit call) coalesce into one refresh; a minimum gap stops refresh storms;
//! every topology query has its own timeout and several sources are asked in parallel, so one
//! hung node never blocks a refresh. Readers never wait for it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::join_all;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cluster::Core;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::Value;
use crate::topology::{parse_cluster_shards, parse_cluster_slots, Addr, Topology};
use crate::{cmd, Cmd};

/// Known nodes asked per refresh, besides the startup nodes.
const SAMPLE: usize = 3;

/// Handle to the refresher task (cluster mode).
#[derive(Debug)]
pub(crate) struct Refresher {
    trigger: mpsc::Sender<()>,
    /// (refreshes started, refreshes finished, last outcome)
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

    pub(crate) fn trigger(&self) {
        let _ = self.trigger.try_send(());
    }

    /// Triggers a refresh and waits until one that started after this call has finished.
    pub(crate) async fn refresh_and_wait(&self, deadline: Instant) -> Result<()> {
        let mut status = self.status.clone();
        let target = status.borrow().started + 1;
        self.trigger();
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
    mut rx: mpsc::Receiver<()>,
    status: watch::Sender<Status>,
    interval: Duration,
    min_gap: Duration,
) {
    loop {
        let period = interval.mul_f64(rand::thread_rng().gen_range(0.8..1.2));
        tokio::select! {
            t = rx.recv() => if t.is_none() { return },
            _ = tokio::time::sleep(period) => {}
        }
        let Some(core) = core.upgrade() else { return };
        if core.check_open().is_err() {
            return;
        }
        status.send_modify(|s| s.started += 1);
        let outcome = refresh(&core).await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "topology refresh failed");
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

/// Asks a random sample of known nodes plus every startup node, in parallel, and installs the
/// view most of them agree on.
pub(crate) async fn refresh(core: &Arc<Core>) -> Result<bool> {
    let mut sources: Vec<Addr> = core.topology().nodes().map(|n| n.addr.clone()).collect();
    sources.shuffle(&mut rand::thread_rng());
    sources.truncate(SAMPLE);
    for s in &core.seeds {
        if !sources.contains(s) {
            sources.push(s.clone());
        }
    }
    let topo = discover(core, &sources).await?;
    let keep: Vec<Addr> = topo.nodes().map(|n| n.addr.clone()).collect();
    let changed = core.install_topology(topo);
    if changed {
        tracing::info!(version = core.topology_version(), "topology changed");
        core.pool
            .retain(&|a| keep.contains(a) || core.seeds.contains(a));
    }
    Ok(changed)
}

/// Queries `sources` in parallel, each under its own timeout, and picks the view most of them
/// report (ties go to the one covering more slots).
pub(crate) async fn discover(core: &Core, sources: &[Addr]) -> Result<Topology> {
    let timeout = core.options.connect_timeout + Duration::from_secs(1);
    let answers = join_all(sources.iter().map(|a| async move {
        let deadline = Instant::now() + timeout;
        match tokio::time::timeout_at(deadline, query(core, a, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                Outcome::NotRun,
                format!("{a}: no topology reply in {timeout:?}"),
            )),
        }
    }))
    .await;
    let mut views: Vec<(Topology, usize)> = Vec::new();
    let mut errors = Vec::new();
    for (addr, answer) in sources.iter().zip(answers) {
        match answer {
            Ok(t) if t.covered_slots() > 0 => {
                match views.iter_mut().find(|(v, _)| v.same_routing(&t)) {
                    Some((_, votes)) => *votes += 1,
                    None => views.push((t, 1)),
                }
            }
            Ok(_) => errors.push(format!("{addr}: serves no slots")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    views
        .into_iter()
        .max_by_key(|(t, votes)| (*votes, t.covered_slots()))
        .map(|(t, _)| t)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Topology,
                Outcome::NotRun,
                format!(
                    "no node returned a usable cluster topology: {}",
                    errors.join("; ")
                ),
            )
        })
}

async fn query(core: &Core, addr: &Addr, deadline: Instant) -> Result<Topology> {
    let conn = core.pool.get(addr).await?;
    let shards = match ask(&conn, &cmd("CLUSTER").arg("SHARDS"), deadline).await? {
        Value::Error(msg) if is_unknown_command(&msg) => {
            match ask(&conn, &cmd("CLUSTER").arg("SLOTS"), deadline).await? {
                Value::Error(msg) => return Err(Error::from_server(&msg).context(addr)),
                v => parse_cluster_slots(&v, addr)?,
            }
        }
        Value::Error(msg) => return Err(Error::from_server(&msg).context(addr)),
        v => parse_cluster_shards(&v, addr)?,
    };
    Topology::from_shards(shards).map_err(|e| e.context(addr))
}

async fn ask(conn: &crate::conn::Connection, c: &Cmd, deadline: Instant) -> Result<Value> {
    conn.send(c, deadline).await
}

fn is_unknown_command(msg: &[u8]) -> bool {
    let m = String::from_utf8_lossy(msg).to_ascii_lowercase();
    m.contains("unknown subcommand") || m.contains("unknown command")
}
