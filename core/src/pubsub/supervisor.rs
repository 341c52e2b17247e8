//! The one task behind a [`super::PubSub`]: it knows every subscription the application holds
//! and where each one lives, and moves them when the deployment changes.
//!
//! After every request, reply, topology event and a 250 ms tick it *reconciles*: a subscription
//! whose connection is on the wrong node (a failover, a slot that moved, a Sentinel switch, a
//! node that left) is deactivated there and unsubscribed, then every subscription without a
//! connection is subscribed where it belongs now. Connections that fail are retried with a
//! backoff (100 ms doubling to 1 s per address) and each failure asks for a topology refresh,
//! so a promotion the cluster makes later is seen within a second.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use super::inbox::Inbox;
use super::link::{Control, Link, LinkId};
use super::{Key, Kind, PubSubItem, Request};
use crate::cluster::{Core, Mode};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::metrics::Trigger;
use crate::topology::{Addr, NodeHealth, Topology};

const TICK: Duration = Duration::from_millis(250);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
const AVOID: Duration = Duration::from_secs(3);

/// One subscription the application holds.
#[derive(Debug)]
struct Sub {
    /// The channel's slot (sharded only).
    slot: Option<u16>,
    link: Option<LinkId>,
    confirmed: bool,
    /// The application has not yet seen its `Subscribed` item.
    announce: bool,
    /// It was live, then lost its connection or its node at this moment.
    interrupted_at: Option<Instant>,
}

pub(crate) fn spawn(
    core: Arc<Core>,
    requests: mpsc::UnboundedReceiver<Request>,
    inbox: Arc<Inbox>,
) {
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let s = Supervisor {
        events: core.subscribe(),
        core,
        inbox,
        subs: BTreeMap::new(),
        links: HashMap::new(),
        classic: None,
        pending: HashMap::new(),
        unsubs: HashMap::new(),
        waiters: Vec::new(),
        moved: HashMap::new(),
        avoid: HashMap::new(),
        backoff: HashMap::new(),
        next_id: 0,
        control_tx,
    };
    tokio::spawn(s.run(requests, control_rx));
}

struct Supervisor {
    core: Arc<Core>,
    events: broadcast::Receiver<Event>,
    inbox: Arc<Inbox>,
    subs: BTreeMap<Key, Sub>,
    links: HashMap<LinkId, Link>,
    /// The link holding channels and patterns.
    classic: Option<LinkId>,
    /// Per link, the SUBSCRIBE-family commands whose confirmations have not all come (an error
    /// reply belongs to the oldest).
    pending: HashMap<LinkId, VecDeque<Vec<Key>>>,
    /// Our own unsubscriptions not yet confirmed: any other is the server's (a slot moved).
    unsubs: HashMap<(LinkId, Key), u32>,
    waiters: Vec<(HashSet<Key>, oneshot::Sender<Result<()>>)>,
    /// Slot owners learned from MOVED replies, until the topology agrees.
    moved: HashMap<u16, Addr>,
    /// Sharded channels the server unsubscribed (its slot left the node, or the node was
    /// demoted): not subscribed there again while the topology still names that node, until
    /// `AVOID` passes (a demoted primary accepts SSUBSCRIBE as a replica, and would be left a
    /// moment later). Not "until the topology changes": a refresh that brings other news
    /// (a replica that attached late) while the nodes asked have not yet heard of the
    /// failover sent the subscription back to the demoted node, and moving it a second time
    /// delivered the SPUBLISHes in flight on the cluster bus twice (seen under load).
    avoid: HashMap<Key, (Addr, Instant)>,
    /// Per address: no new connection before this instant, and the failures in a row.
    backoff: HashMap<Addr, (Instant, u32)>,
    next_id: LinkId,
    control_tx: mpsc::UnboundedSender<Control>,
}

impl Supervisor {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.inbox.is_closed() || self.core.check_open().is_err() {
                break;
            }
            // A confirmation changes where nothing belongs: no reconcile (a walk over every
            // subscription) per confirmation, which would be quadratic in their number.
            let again = tokio::select! {
                r = requests.recv() => match r {
                    Some(r) => {
                        self.on_request(r).await;
                        true
                    }
                    None => break,
                },
                Some(c) = control.recv() => {
                    let again = !matches!(c, Control::Subscribed(..));
                    self.on_control(c);
                    again
                }
                e = self.events.recv() => match e {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    self.heartbeat().await;
                    true
                }
            };
            if self.inbox.is_closed() {
                break;
            }
            if again {
                self.reconcile().await;
            }
        }
        self.links.clear();
        self.inbox.close();
        for (_, tx) in self.waiters.drain(..) {
            let _ = tx.send(Err(super::closed()));
        }
    }

    async fn on_request(&mut self, r: Request) {
        match r {
            Request::Subscribe(kind, names, tx) => {
                let mut waiting = HashSet::new();
                for name in names {
                    let key = (kind, name);
                    match self.subs.get(&key) {
                        Some(s) if s.confirmed => self.inbox.push(PubSubItem::Subscribed {
                            kind,
                            name: key.1.clone(),
                            count: self.subs.len(),
                        }),
                        Some(_) => {
                            waiting.insert(key);
                        }
                        None => {
                            let slot =
                                (kind == Kind::Sharded).then(|| crate::slot::key_slot(&key.1));
                            self.subs.insert(
                                key.clone(),
                                Sub {
                                    slot,
                                    link: None,
                                    confirmed: false,
                                    announce: true,
                                    interrupted_at: None,
                                },
                            );
                            waiting.insert(key);
                        }
                    }
                }
                self.inbox.set_count(self.subs.len());
                if waiting.is_empty() {
                    let _ = tx.send(Ok(()));
                } else {
                    self.waiters.push((waiting, tx));
                }
            }
            Request::Unsubscribe(kind, names, tx) => {
                if self.inbox.is_closed() {
                    return; // close(): the run loop stops and drops every connection
                }
                let keys: Vec<Key> = if names.is_empty() {
                    self.subs.keys().filter(|k| k.0 == kind).cloned().collect()
                } else {
                    names.into_iter().map(|n| (kind, n)).collect()
                };
                for key in keys {
                    if !self.subs.contains_key(&key) {
                        continue;
                    }
                    self.detach(&key, true).await;
                    self.subs.remove(&key);
                    self.inbox.set_count(self.subs.len());
                    self.inbox.push(PubSubItem::Unsubscribed {
                        kind,
                        name: key.1.clone(),
                        count: self.subs.len(),
                    });
                    self.settle(&key, None);
                }
                let _ = tx.send(Ok(()));
            }
        }
    }

    fn on_control(&mut self, c: Control) {
        match c {
            Control::Subscribed(id, key) => {
                self.take_pending(id, &key);
                if let Some(s) = self.subs.get_mut(&key).filter(|s| s.link == Some(id)) {
                    s.confirmed = true;
                    s.announce = false;
                    s.interrupted_at = None;
                    if let Some(l) = self.links.get(&id) {
                        self.backoff.remove(&l.addr);
                    }
                    self.settle(&key, None);
                }
            }
            Control::Unsubscribed(id, key) => {
                if let Some(n) = self.unsubs.get_mut(&(id, key.clone())) {
                    *n -= 1;
                    if *n == 0 {
                        self.unsubs.remove(&(id, key));
                    }
                    return;
                }
                // The server's own: the channel's slot moved away (or the node was demoted).
                if self.subs.get(&key).is_some_and(|s| s.link == Some(id)) {
                    tracing::info!(channel = ?key.1, "server unsubscribed a channel: moving it");
                    if let Some(l) = self.links.get(&id) {
                        self.avoid
                            .insert(key.clone(), (l.addr.clone(), Instant::now() + AVOID));
                        // Until our view, too, has the channel's slot served elsewhere.
                        let (from, slot) = (l.addr.clone(), crate::slot::key_slot(&key.1));
                        self.core.refresh_until(
                            Trigger::Moved,
                            Duration::from_secs(10),
                            move |t: &Topology| {
                                t.shard_for_slot(slot)
                                    .is_some_and(|s| s.primary.addr != from)
                            },
                        );
                    }
                    self.unlink(&key);
                }
            }
            Control::Error(id, msg) => self.on_error(id, &msg),
            Control::Closed(id, e) => self.lose(id, &e),
        }
    }

    fn on_error(&mut self, id: LinkId, msg: &[u8]) {
        let keys = self
            .pending
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(msg).into_owned();
        let addr = self.links.get(&id).map(|l| l.addr.clone());
        let mine: Vec<Key> = keys
            .into_iter()
            .filter(|k| self.subs.get(k).is_some_and(|s| s.link == Some(id)))
            .collect();
        let e = Error::from_server(msg);
        if let Some(rest) = text.strip_prefix("MOVED ") {
            // `MOVED <slot> <host:port>`: subscribe there at once; the refresh confirms it.
            let mut words = rest.split(' ');
            if let (Some(Ok(slot)), Some(Ok(to))) = (
                words.next().map(str::parse::<u16>),
                words.next().map(Addr::parse),
            ) {
                self.moved.insert(slot, to);
            }
            self.core.trigger_refresh(Trigger::Moved);
            for k in &mine {
                self.unlink(k);
            }
        } else if e.kind().is_transient_server_state() {
            tracing::debug!(error = %e, "subscription refused for now; retrying");
            for k in &mine {
                self.unlink(k);
            }
            if let Some(a) = addr {
                self.delay(&a);
            }
            self.core.trigger_refresh(Trigger::ClusterDown);
        } else {
            tracing::warn!(error = %e, "subscription refused");
            for k in mine {
                self.unlink(&k);
                self.subs.remove(&k);
                self.settle(&k, Some(&e));
            }
            self.inbox.set_count(self.subs.len());
        }
    }

    /// Removes `key` from the waiters; a waiter with nothing left gets its answer (the error
    /// when `key` failed).
    fn settle(&mut self, key: &Key, failed: Option<&Error>) {
        self.waiters.retain_mut(|(keys, tx)| {
            if !keys.remove(key) {
                return !tx.is_closed();
            }
            if let Some(e) = failed {
                let (dead, _) = oneshot::channel();
                let tx = std::mem::replace(tx, dead);
                let _ = tx.send(Err(e.clone()));
                return false;
            }
            if keys.is_empty() {
                let (dead, _) = oneshot::channel();
                let _ = std::mem::replace(tx, dead).send(Ok(()));
                return false;
            }
            true
        });
    }

    fn take_pending(&mut self, id: LinkId, key: &Key) {
        let Some(q) = self.pending.get_mut(&id) else {
            return;
        };
        if let Some(cmd) = q.iter_mut().find(|c| c.contains(key)) {
            cmd.retain(|k| k != key);
        }
        while q.front().is_some_and(Vec::is_empty) {
            q.pop_front();
        }
    }

    /// Takes `key` off its link without telling the server (it already dropped it, refused
    /// it, or the link is gone). A live subscription becomes interrupted.
    fn unlink(&mut self, key: &Key) {
        let Some(s) = self.subs.get_mut(key) else {
            return;
        };
        if let Some(id) = s.link.take() {
            if let Some(l) = self.links.get(&id) {
                l.deactivate(key);
            }
        }
        if std::mem::take(&mut s.confirmed) {
            s.interrupted_at.get_or_insert_with(Instant::now);
        }
    }

    /// Takes `key` off its link and unsubscribes it there (when the link is alive).
    async fn detach(&mut self, key: &Key, unsubscribe: bool) {
        let id = self.subs.get(key).and_then(|s| s.link);
        self.unlink(key);
        let Some(id) = id else { return };
        if !unsubscribe {
            return;
        }
        let Some(link) = self.links.get_mut(&id) else {
            return;
        };
        *self.unsubs.entry((id, key.clone())).or_default() += 1;
        let args = [
            Bytes::from_static(key.0.unsubscribe().as_bytes()),
            key.1.clone(),
        ];
        if let Err(e) = link.send(&args).await {
            self.lose(id, &e);
        }
    }

    /// Pings silent connections and drops the ones that stay silent (see
    /// [`crate::Options::pubsub_heartbeat`]); their subscriptions are made again elsewhere.
    async fn heartbeat(&mut self) {
        let every = self.core.options.pubsub_heartbeat;
        if every.is_zero() {
            return;
        }
        let mut dead = Vec::new();
        for (id, link) in &mut self.links {
            if let Err(e) = link.heartbeat(every).await {
                dead.push((*id, e));
            }
        }
        for (id, e) in dead {
            self.lose(id, &e);
        }
    }

    /// A link ended: its subscriptions wait for a new one.
    fn lose(&mut self, id: LinkId, e: &Error) {
        let Some(link) = self.links.remove(&id) else {
            return;
        };
        tracing::warn!(addr = %link.addr, error = %e, "pub/sub connection lost; resubscribing");
        for s in self.subs.values_mut().filter(|s| s.link == Some(id)) {
            s.link = None;
            if std::mem::take(&mut s.confirmed) {
                s.interrupted_at.get_or_insert_with(Instant::now);
            }
        }
        self.forget_link(id);
        self.delay(&link.addr);
        self.core.trigger_refresh(Trigger::ConnectionFailure);
    }

    fn forget_link(&mut self, id: LinkId) {
        self.pending.remove(&id);
        self.unsubs.retain(|(l, _), _| *l != id);
        if self.classic == Some(id) {
            self.classic = None;
        }
    }

    fn delay(&mut self, addr: &Addr) {
        let e = self
            .backoff
            .entry(addr.clone())
            .or_insert((Instant::now(), 0));
        let wait = BACKOFF_MIN.saturating_mul(1 << e.1.min(4)).min(BACKOFF_MAX);
        *e = (Instant::now() + wait, e.1.saturating_add(1));
    }

    /// Where `key` belongs now; `current` is the node of the link it is on.
    fn target(
        &self,
        topo: &Topology,
        key: &Key,
        slot: Option<u16>,
        current: Option<&Addr>,
    ) -> Option<Addr> {
        if key.0 == Kind::Sharded {
            let slot = slot?;
            let want = self
                .moved
                .get(&slot)
                .cloned()
                .or_else(|| topo.shard_for_slot(slot).map(|s| s.primary.addr.clone()))?;
            let avoided = self
                .avoid
                .get(key)
                .is_some_and(|(a, until)| *a == want && Instant::now() < *until);
            return (!avoided).then_some(want);
        }
        if self.core.mode != Mode::Cluster {
            return topo.primaries().next().map(|n| n.addr.clone());
        }
        // Any live cluster node hears every PUBLISH: stay where we are while it is in the
        // cluster and not failed.
        let usable = |a: &Addr| {
            !self.core.health.is_marked(a)
                && topo
                    .nodes()
                    .any(|n| &n.addr == a && n.health != NodeHealth::Failed)
        };
        if let Some(a) = current.filter(|a| usable(a)) {
            return Some(a.clone());
        }
        let primaries: Vec<&Addr> = topo
            .shards()
            .iter()
            .filter(|s| !s.slots.is_empty())
            .map(|s| &s.primary.addr)
            .filter(|a| usable(a) && !self.waiting(a))
            .collect();
        if primaries.is_empty() {
            return topo.primaries().next().map(|n| n.addr.clone());
        }
        Some(primaries[rand::thread_rng().gen_range(0..primaries.len())].clone())
    }

    fn waiting(&self, addr: &Addr) -> bool {
        self.backoff
            .get(addr)
            .is_some_and(|(until, _)| Instant::now() < *until)
    }

    async fn reconcile(&mut self) {
        let topo = self.core.topology();
        self.moved
            .retain(|slot, a| topo.shard_for_slot(*slot).map(|s| &s.primary.addr) != Some(a));
        let now = Instant::now();
        self.avoid.retain(|_, (_, until)| now < *until);
        // 1. Off the wrong nodes.
        let mut wrong = Vec::new();
        for (key, s) in &self.subs {
            let Some(at) = s.link.and_then(|id| self.links.get(&id)) else {
                continue;
            };
            // No owner known right now (a partial view) is no reason to move.
            if self
                .target(&topo, key, s.slot, Some(&at.addr))
                .is_some_and(|w| w != at.addr)
            {
                wrong.push(key.clone());
            }
        }
        for key in &wrong {
            tracing::info!(channel = ?key.1, "subscription belongs elsewhere now: moving it");
            self.detach(key, true).await;
        }
        // The classic link moves as a whole: never two at once (a message would come twice).
        if let Some(id) = self.classic {
            if !self.subs.values().any(|s| s.link == Some(id)) {
                self.close_link(id);
            }
        }
        // 2. Onto the right ones.
        let mut groups: BTreeMap<(bool, String), (Addr, Vec<Key>)> = BTreeMap::new();
        let mut classic_pick: Option<Addr> = self
            .classic
            .and_then(|id| self.links.get(&id))
            .map(|l| l.addr.clone());
        for (key, s) in self.subs.iter().filter(|(_, s)| s.link.is_none()) {
            let classic = key.0 != Kind::Sharded;
            let want = if classic {
                if classic_pick.is_none() {
                    classic_pick = self.target(&topo, key, None, None);
                }
                classic_pick.clone()
            } else {
                self.target(&topo, key, s.slot, None)
            };
            let Some(want) = want else { continue };
            groups
                .entry((classic, want.to_string()))
                .or_insert_with(|| (want.clone(), Vec::new()))
                .1
                .push(key.clone());
        }
        for ((classic, _), (addr, keys)) in groups {
            if self.waiting(&addr) {
                continue;
            }
            let Some(id) = self.link_for(classic, &addr).await else {
                continue;
            };
            self.subscribe_on(id, keys).await;
        }
        // 3. Close sharded links nothing lives on any more.
        let idle: Vec<LinkId> = self
            .links
            .keys()
            .copied()
            .filter(|id| {
                Some(*id) != self.classic && !self.subs.values().any(|s| s.link == Some(*id))
            })
            .collect();
        for id in idle {
            self.close_link(id);
        }
    }

    fn close_link(&mut self, id: LinkId) {
        self.links.remove(&id);
        self.forget_link(id);
    }

    /// The link to `addr` for classic or sharded subscriptions, opened when there is none.
    async fn link_for(&mut self, classic: bool, addr: &Addr) -> Option<LinkId> {
        let existing = if classic {
            self.classic
        } else {
            self.links
                .values()
                .find(|l| &l.addr == addr && Some(l.id) != self.classic)
                .map(|l| l.id)
        };
        if let Some(id) = existing {
            if self.links.get(&id).is_some_and(|l| &l.addr == addr) {
                return Some(id);
            }
            // A classic link elsewhere holds nothing (step 1 emptied it): replace it.
            self.close_link(id);
        }
        self.core.metrics.connect(addr);
        match self.core.pool.open_stream(addr).await {
            Ok((stream, decoder)) => {
                self.next_id += 1;
                let id = self.next_id;
                let link = Link::start(
                    id,
                    addr.clone(),
                    stream,
                    decoder,
                    self.inbox.clone(),
                    self.control_tx.clone(),
                    self.core
                        .options
                        .connect_timeout
                        .max(Duration::from_secs(1)),
                );
                self.links.insert(id, link);
                if classic {
                    self.classic = Some(id);
                }
                Some(id)
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "pub/sub connect failed; retrying");
                self.delay(addr);
                self.core.trigger_refresh(Trigger::ConnectionFailure);
                None
            }
        }
    }

    /// Subscribes `keys` on link `id`: one command per kind, and per slot for sharded
    /// channels (SSUBSCRIBE takes channels of one slot).
    async fn subscribe_on(&mut self, id: LinkId, keys: Vec<Key>) {
        let mut batches: BTreeMap<(Kind, Option<u16>), Vec<Key>> = BTreeMap::new();
        for k in keys {
            let slot = self.subs.get(&k).and_then(|s| s.slot);
            batches.entry((k.0, slot)).or_default().push(k);
        }
        for ((kind, _), keys) in batches {
            let Some(link) = self.links.get_mut(&id) else {
                return;
            };
            let mut args = vec![Bytes::from_static(kind.subscribe().as_bytes())];
            for k in &keys {
                if let Some(s) = self.subs.get_mut(k) {
                    s.link = Some(id);
                    link.activate(k, s.announce, s.interrupted_at);
                }
                args.push(k.1.clone());
            }
            self.pending.entry(id).or_default().push_back(keys);
            if let Err(e) = link.send(&args).await {
                self.lose(id, &e);
                return;
            }
        }
    }
}
