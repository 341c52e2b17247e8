//! Pub/Sub that follows the deployment: SUBSCRIBE/PSUBSCRIBE on one dedicated connection (any
//! cluster node: Redis 7 broadcasts PUBLISH to every node; the master in Sentinel mode; the
//! server standalone) and SSUBSCRIBE on one dedicated connection per shard primary owning a
//! channel's slot, apart from the multiplexed request connections.
//!
//! After a failover, a node loss, an IP change, a Sentinel switch or a slot move (the server's
//! own `sunsubscribe`, a MOVED reply, or a new topology) every subscription is re-established
//! where it now belongs, and the application receives one [`PubSubItem::Resubscribed`] per
//! interruption (messages published meanwhile may be missed), never an error per retry.
//! A subscription is always dropped from its old connection before it is made on a new one,
//! so two connections never double each other. Across an interruption a message can still
//! come twice: Redis delivers a PUBLISH on the node that takes it and relays it to the others
//! over the cluster bus, so one taken by the node a subscription just left may reach the node
//! it moved to afterwards (once before, once after the `Resubscribed` item).

mod inbox;
mod link;
mod supervisor;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::cluster::Core;
use crate::error::{Error, ErrorKind, Outcome, Result};
use inbox::Inbox;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// `SUBSCRIBE channel`.
    Channel,
    /// `PSUBSCRIBE pattern`.
    Pattern,
    /// `SSUBSCRIBE shardchannel` (Redis 7; served by the shard owning the channel's slot).
    Sharded,
}

impl Kind {
    fn subscribe(self) -> &'static str {
        match self {
            Kind::Channel => "SUBSCRIBE",
            Kind::Pattern => "PSUBSCRIBE",
            Kind::Sharded => "SSUBSCRIBE",
        }
    }

    fn unsubscribe(self) -> &'static str {
        match self {
            Kind::Channel => "UNSUBSCRIBE",
            Kind::Pattern => "PUNSUBSCRIBE",
            Kind::Sharded => "SUNSUBSCRIBE",
        }
    }
}

/// A subscription: its kind and channel (or pattern).
pub type Key = (Kind, Bytes);

/// What a [`PubSub`] hands the application, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubSubItem {
    /// A published message.
    Message {
        /// Which subscription it came through.
        kind: Kind,
        /// The channel it was published to.
        channel: Bytes,
        /// The matching pattern (`Kind::Pattern` only).
        pattern: Option<Bytes>,
        /// The message.
        payload: Bytes,
    },
    /// The server confirmed a subscription the application asked for.
    Subscribed {
        /// Its kind.
        kind: Kind,
        /// The channel or pattern.
        name: Bytes,
        /// Subscriptions this `PubSub` holds.
        count: usize,
    },
    /// A subscription the application dropped.
    Unsubscribed {
        /// Its kind.
        kind: Kind,
        /// The channel or pattern.
        name: Bytes,
        /// Subscriptions this `PubSub` still holds.
        count: usize,
    },
    /// Subscriptions are back after an interruption (a lost connection, a failover, a slot
    /// that moved): messages published while they were away may have been missed. One item
    /// per interruption of a connection, however many reconnect attempts it took.
    Resubscribed {
        /// The subscriptions restored.
        subscriptions: Vec<Key>,
        /// From the interruption until the server confirmed the last of them.
        interrupted_for: Duration,
    },
    /// The application fell more than [`crate::Options::pubsub_queue`] items behind: this
    /// many messages were dropped here.
    Dropped {
        /// Messages dropped.
        count: u64,
    },
}

/// What the handle asks the supervisor.
#[derive(Debug)]
pub(crate) enum Request {
    Subscribe(Kind, Vec<Bytes>, oneshot::Sender<Result<()>>),
    /// An empty list means every subscription of the kind.
    Unsubscribe(Kind, Vec<Bytes>, oneshot::Sender<Result<()>>),
}

/// Subscriptions on dedicated connections that follow the deployment. Created by
/// [`crate::Client::pubsub`]. Messages wait in a bounded queue (see
/// [`crate::Options::pubsub_queue`]) until taken with [`PubSub::next`] or
/// [`PubSub::try_next`]. Every method may be called from many tasks at once; dropping it
/// (or [`PubSub::close`]) closes its connections.
#[derive(Debug)]
pub struct PubSub {
    requests: mpsc::UnboundedSender<Request>,
    inbox: Arc<Inbox>,
    timeout: Duration,
}

impl PubSub {
    pub(crate) fn start(core: Arc<Core>) -> Result<PubSub> {
        core.check_open()?;
        let inbox = Arc::new(Inbox::new(core.options.pubsub_queue));
        let (tx, rx) = mpsc::unbounded_channel();
        let timeout = core.options.request_timeout;
        supervisor::spawn(core, rx, inbox.clone());
        Ok(PubSub {
            requests: tx,
            inbox,
            timeout,
        })
    }

    /// Subscribes to `names` of `kind` and waits until the server confirmed each (within the
    /// request timeout). On a timeout the subscriptions stay registered and are made as soon
    /// as a node can take them; [`PubSub::unsubscribe`] drops them. A name the server refuses
    /// (e.g. an ACL denial) fails the call and is not kept.
    pub async fn subscribe<T: AsRef<[u8]>>(
        &self,
        kind: Kind,
        names: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        let names = collect(names);
        if names.is_empty() {
            return Err(Error::invalid("subscribe needs at least one channel"));
        }
        self.ask(|tx| Request::Subscribe(kind, names, tx)).await
    }

    /// Drops subscriptions of `kind` (every one of the kind when `names` is empty). No message
    /// of theirs is delivered after this returns.
    pub async fn unsubscribe<T: AsRef<[u8]>>(
        &self,
        kind: Kind,
        names: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        let names = collect(names);
        self.ask(|tx| Request::Unsubscribe(kind, names, tx)).await
    }

    async fn ask(&self, req: impl FnOnce(oneshot::Sender<Result<()>>) -> Request) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(req(tx)).map_err(|_| closed())?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                Outcome::NotRun,
                "no node confirmed the subscription before the request timeout; it is kept and \
                 made as soon as a node can take it",
            )),
        }
    }

    /// The next item, waiting for one; `None` once closed and drained.
    pub async fn next(&self) -> Option<PubSubItem> {
        self.inbox.pop().await
    }

    /// The next item if one is queued. `Err` (kind `Closed`) once closed and drained.
    pub fn try_next(&self) -> Result<Option<PubSubItem>> {
        self.inbox.try_pop().map_err(|()| closed())
    }

    /// Subscriptions held.
    pub fn subscription_count(&self) -> usize {
        self.inbox.count()
    }

    /// Closes the connections; items already queued can still be taken.
    pub fn close(&self) {
        self.inbox.close();
        // The supervisor sees the queue closed and stops (dropping every connection).
        let (tx, _) = oneshot::channel();
        let _ = self
            .requests
            .send(Request::Unsubscribe(Kind::Channel, Vec::new(), tx));
    }
}

impl Drop for PubSub {
    fn drop(&mut self) {
        self.inbox.close();
    }
}

fn collect<T: AsRef<[u8]>>(names: impl IntoIterator<Item = T>) -> Vec<Bytes> {
    names
        .into_iter()
        .map(|n| Bytes::copy_from_slice(n.as_ref()))
        .collect()
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, Outcome::NotRun, "the pub/sub is closed")
}
