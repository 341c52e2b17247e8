//! Sentinel mode: find the master through any sentinel, believe only the newest view
//! (`config-epoch`) and only a node that says `ROLE master` itself, follow every failover by
//! the sentinels' announcements and by a poll, and hold writes while our master's failover is
//! under way so the old master acknowledges none of them.

mod watch;

use std::sync::Mutex;

use futures_util::future::join_all;
use tokio::time::Instant;

use crate::cluster::Core;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::pool::Pool;
use crate::resp::Value;
use crate::topology::{Addr, Node, NodeHealth, Role, Shard, Topology};
use crate::{cmd, Cmd};

pub(crate) use watch::spawn_watchers;

/// What Sentinel mode adds to the engine.
#[derive(Debug)]
pub(crate) struct SentinelState {
    pub service: String,
    pub sentinels: Vec<Addr>,
    /// Connections to the sentinels, with the sentinels' own credentials.
    pub pool: Pool,
    /// Set while a failover of our master is announced: (held until, master at the start).
    fence: Mutex<Option<(Instant, Addr)>>,
    /// A replica a sentinel reports promoted (by `+promoted-slave` or the `promoted` flag):
    /// the new master before the sentinels switch their own view (up to seconds later).
    promoted: Mutex<Option<Addr>>,
}

impl SentinelState {
    pub fn new(service: String, sentinels: Vec<Addr>, pool: Pool) -> Self {
        SentinelState {
            service,
            sentinels,
            pool,
            fence: Mutex::new(None),
            promoted: Mutex::new(None),
        }
    }

    /// Notes the replica a sentinel just promoted.
    pub fn promoted(&self, addr: Addr) {
        *self.promoted.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
    }

    fn take_promoted(&self) -> Option<Addr> {
        self.promoted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn forget_promoted(&self) {
        *self.promoted.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Holds writes until `until`, or until a different master is installed — only when the
    /// master being failed over is the one in use (a later poll still seeing the same failover
    /// after we moved on must not hold writes to the new master).
    pub fn raise_fence(&self, until: Instant, failing: &Addr, in_use: Option<&Addr>) {
        if in_use != Some(failing) {
            return;
        }
        let master = failing.clone();
        let mut f = self.fence.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            tracing::info!(%master, "failover announced: holding writes");
        }
        *f = Some((until, master));
    }

    pub fn lower_fence(&self) {
        *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// True while writes must wait.
    pub fn is_fenced(&self) -> bool {
        let mut f = self.fence.lock().unwrap_or_else(|p| p.into_inner());
        match *f {
            Some((until, _)) if Instant::now() < until => true,
            Some(_) => {
                tracing::warn!("failover fence timed out: releasing writes");
                *f = None;
                false
            }
            None => false,
        }
    }

    /// A new topology is installed: writes may go once the master differs from the one whose
    /// failover raised the fence.
    pub fn on_master(&self, master: &Addr) {
        let mut f = self.fence.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(&*f, Some((_, old)) if old != master) {
            tracing::info!(%master, "new master confirmed: releasing writes");
            *f = None;
        }
    }
}

/// One sentinel's view of the master.
struct View {
    sentinel: Addr,
    master: Addr,
    epoch: u64,
    /// The sentinel is failing the master over right now.
    failing_over: bool,
}

/// Asks every sentinel (in parallel, each within the topology query timeout) for the master;
/// takes the newest view (highest config epoch, then most sentinels), or the replica a
/// sentinel reports promoted during a failover, verifies it with ROLE on the node itself, and
/// lists the healthy replicas. A sentinel failing our master over raises the write fence
/// even when its announcements never reach us.
pub(crate) async fn discover(core: &Core, s: &SentinelState) -> Result<Topology> {
    let timeout = core.options.topology_query_timeout;
    let deadline = Instant::now() + timeout;
    let master_cmd = cmd("SENTINEL").arg("MASTER").arg(s.service.as_str());
    let replicas_cmd = cmd("SENTINEL").arg("REPLICAS").arg(s.service.as_str());
    let master_cmd = &master_cmd;
    let answers = join_all(s.sentinels.iter().map(|a| async move {
        let r = tokio::time::timeout_at(deadline, ask(&s.pool, a, master_cmd, deadline)).await;
        (
            a,
            r.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    Outcome::NotRun,
                    format!("sentinel {a}: no answer in {timeout:?}"),
                ))
            }),
        )
    }))
    .await;
    let mut views = Vec::new();
    let mut errors = Vec::new();
    for (a, r) in answers {
        match r.and_then(|v| master_view(a, &v)) {
            Ok(view) => views.push(view),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let best = views
        .iter()
        .max_by_key(|v| {
            (
                v.epoch,
                views
                    .iter()
                    .filter(|w| w.master == v.master && w.epoch == v.epoch)
                    .count(),
            )
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Topology,
                Outcome::NotRun,
                format!(
                    "no sentinel named a master for {}: {}",
                    s.service,
                    errors.join("; ")
                ),
            )
        })?;
    let mut source = best.sentinel.clone();
    if let Some(leader) = views.iter().find(|v| v.failing_over) {
        let topo = core.topology();
        let in_use = topo.primaries().next().map(|n| &n.addr);
        s.raise_fence(
            Instant::now() + core.options.failover_fence_timeout,
            &leader.master,
            in_use,
        );
        if let Ok(v) = ask(&s.pool, &leader.sentinel, &replicas_cmd, deadline).await {
            if let Some(p) = promoted_replica(&v) {
                s.promoted(p);
            }
        }
        source = leader.sentinel.clone();
    }
    // The promoted replica wins over the sentinels' (older) view once it says it is master.
    let master = match s.take_promoted().filter(|p| *p != best.master) {
        Some(p) if verify_role(core, &p).await.is_ok() => p,
        _ => {
            s.forget_promoted();
            verify_role(core, &best.master).await?;
            best.master.clone()
        }
    };
    let replicas = match ask(&s.pool, &source, &replicas_cmd, deadline).await {
        Ok(v) => healthy_replicas(&v)
            .into_iter()
            .filter(|r| r.addr != master)
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "no replica list; reads go to the master");
            Vec::new()
        }
    };
    let mut primary = Node::new("", master, Role::Primary);
    primary.config_epoch = best.epoch;
    Topology::from_shards(vec![Shard::new(
        vec![(0, crate::slot::SLOT_COUNT - 1)],
        primary,
        replicas,
    )])
}

/// ROLE on the node itself: a sentinel may be behind, the node is not.
async fn verify_role(core: &Core, master: &Addr) -> Result<()> {
    let deadline = Instant::now() + core.options.topology_query_timeout;
    let reply = core.send_to(master, &[cmd("ROLE")], deadline).await?;
    let role = reply
        .first()
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    match role.as_deref() {
        Some("master") => Ok(()),
        other => Err(Error::new(
            ErrorKind::Topology,
            Outcome::NotRun,
            format!(
                "sentinels name {master} as master but it reports role {}",
                other.unwrap_or("unknown")
            ),
        )),
    }
}

async fn ask(pool: &Pool, addr: &Addr, c: &Cmd, deadline: Instant) -> Result<Value> {
    let conn = pool.get(addr, || {}).await?;
    match conn.send(c, deadline).await? {
        Value::Error(msg) => Err(Error::from_server(&msg)),
        v => Ok(v),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.to_pairs()?
        .into_iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

fn addr_of(v: &Value) -> Option<Addr> {
    let host = field(v, "ip")?.as_str()?.to_owned();
    let port = field(v, "port")?
        .as_int()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)?;
    Some(Addr::new(host, port))
}

/// One sentinel's view from its `SENTINEL MASTER` reply; a master the sentinel considers down
/// is still its answer (the failover has not happened yet).
fn master_view(sentinel: &Addr, v: &Value) -> Result<View> {
    let master = addr_of(v).ok_or_else(|| {
        Error::protocol(format!(
            "sentinel {sentinel}: SENTINEL MASTER reply has no usable ip/port"
        ))
    })?;
    let epoch = field(v, "config-epoch")
        .and_then(Value::as_int)
        .unwrap_or(0)
        .max(0) as u64;
    Ok(View {
        sentinel: sentinel.clone(),
        master,
        epoch,
        failing_over: has_flag(v, "failover_in_progress"),
    })
}

fn has_flag(v: &Value, flag: &str) -> bool {
    field(v, "flags")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .any(|f| f == flag)
}

/// The replica flagged `promoted` in a `SENTINEL REPLICAS` reply, if any.
fn promoted_replica(v: &Value) -> Option<Addr> {
    v.as_array()?
        .iter()
        .find(|r| has_flag(r, "promoted"))
        .and_then(addr_of)
}

/// Replicas from `SENTINEL REPLICAS` that are up and linked to the master.
fn healthy_replicas(v: &Value) -> Vec<Node> {
    let Some(items) = v.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|r| {
            let link_ok = field(r, "master-link-status").and_then(Value::as_str) == Some("ok");
            link_ok
                && !["s_down", "o_down", "disconnected"]
                    .iter()
                    .any(|f| has_flag(r, f))
        })
        .filter_map(addr_of)
        .map(|a| {
            let mut n = Node::new("", a, Role::Replica);
            n.health = NodeHealth::Online;
            n
        })
        .collect()
}
