//! One dedicated pub/sub connection: the supervisor writes (UN)SUBSCRIBE commands to it, a
//! reader task hands messages straight to the application's queue and everything else
//! (confirmations, errors, the server's own unsubscribes, the end of the connection) to the
//! supervisor.
//!
//! A message is delivered only while its subscription is *active on this link*: the supervisor
//! deactivates a subscription before it subscribes it anywhere else, so a message can never
//! arrive twice through two connections.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{ReadHalf, WriteHalf};

use crate::conn::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::inbox::Inbox;
use super::{Key, Kind, PubSubItem};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::{encode_command, Decoder, Value};
use crate::topology::Addr;

pub(crate) type LinkId = u64;

/// What a reader tells the supervisor.
#[derive(Debug)]
pub(crate) enum Control {
    /// The server confirmed a subscription.
    Subscribed(LinkId, Key),
    /// The server confirmed an unsubscription, ours or its own (a slot moved away).
    Unsubscribed(LinkId, Key),
    /// An error reply (to a SUBSCRIBE-family command).
    Error(LinkId, Bytes),
    /// The connection ended.
    Closed(LinkId, Error),
}

/// How one subscription stands on a link.
#[derive(Debug, Default)]
struct Entry {
    /// Queue a `Subscribed` item when the server confirms (the application asked for it).
    announce: bool,
    /// It was interrupted: its confirmation completes a resubscription.
    restore: bool,
}

/// State the supervisor and the reader share.
#[derive(Debug, Default)]
struct Shared {
    active: HashMap<Key, Entry>,
    /// Interrupted subscriptions waiting for their confirmation here, and the earliest
    /// interruption among them.
    restoring: HashSet<Key>,
    restored: Vec<Key>,
    interrupted_at: Option<Instant>,
    /// When the reader last got bytes from the server.
    heard: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Link {
    pub id: LinkId,
    pub addr: Addr,
    writer: WriteHalf<Stream>,
    shared: Arc<Mutex<Shared>>,
    reader: JoinHandle<()>,
    write_timeout: Duration,
    inbox: Arc<Inbox>,
    opened: Instant,
    /// The heartbeat's PING waiting for the server to say anything.
    ping_sent: Option<Instant>,
}

impl Link {
    /// Starts the reader over a stream whose handshake is done.
    pub fn start(
        id: LinkId,
        addr: Addr,
        stream: Stream,
        decoder: Decoder,
        inbox: Arc<Inbox>,
        control: mpsc::UnboundedSender<Control>,
        write_timeout: Duration,
    ) -> Link {
        let (r, writer) = tokio::io::split(stream);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let reader = tokio::spawn(read(
            id,
            addr.to_string(),
            r,
            decoder,
            shared.clone(),
            inbox.clone(),
            control,
        ));
        Link {
            id,
            addr,
            writer,
            shared,
            reader,
            write_timeout,
            inbox,
            opened: Instant::now(),
            ping_sent: None,
        }
    }

    /// The heartbeat, called every supervisor tick: a PING after `every` of silence, and
    /// `Err` when the server then said nothing for `every` more (the connection is dead
    /// without having been closed). Any bytes count as an answer: messages prove the
    /// connection as well as a PONG does.
    pub async fn heartbeat(&mut self, every: Duration) -> Result<()> {
        let heard = self.lock().heard.unwrap_or(self.opened);
        if let Some(sent) = self.ping_sent {
            if heard >= sent {
                self.ping_sent = None;
            } else if sent.elapsed() >= every {
                return Err(lost(
                    &self.addr,
                    &format!("no answer to PING in {every:?} (a half-open connection)"),
                ));
            } else {
                return Ok(());
            }
        }
        if heard.elapsed() >= every {
            let sent = Instant::now();
            self.send(&[Bytes::from_static(b"PING")]).await?;
            self.ping_sent = Some(sent);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers `key`'s messages from this link from now on; `interrupted_at` says it is being
    /// restored after an interruption.
    pub fn activate(&self, key: &Key, announce: bool, interrupted_at: Option<Instant>) {
        let mut s = self.lock();
        s.active.insert(
            key.clone(),
            Entry {
                announce,
                restore: interrupted_at.is_some(),
            },
        );
        if let Some(at) = interrupted_at {
            s.restoring.insert(key.clone());
            s.interrupted_at = Some(s.interrupted_at.map_or(at, |t| t.min(at)));
        }
    }

    /// Stops delivering `key`'s messages from this link, at once.
    pub fn deactivate(&self, key: &Key) {
        let mut s = self.lock();
        s.active.remove(key);
        if s.restoring.remove(key) {
            finish_restore(&mut s, &self.inbox);
        }
    }

    /// Writes one command (within the connect timeout: a server that takes no bytes is gone).
    pub async fn send(&mut self, args: &[Bytes]) -> Result<()> {
        let mut buf = BytesMut::new();
        encode_command(args, &mut buf);
        match tokio::time::timeout(self.write_timeout, self.writer.write_all(&buf)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(lost(&self.addr, &format!("write failed: {e}"))),
            Err(_) => Err(lost(&self.addr, "write timed out")),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn lost(addr: &Addr, what: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        Outcome::NotRun,
        format!("pub/sub connection to {addr} lost: {what}"),
    )
}

async fn read(
    id: LinkId,
    addr: String,
    mut r: ReadHalf<Stream>,
    mut decoder: Decoder,
    shared: Arc<Mutex<Shared>>,
    inbox: Arc<Inbox>,
    control: mpsc::UnboundedSender<Control>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let end = loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => on_frame(id, v, &shared, &inbox, &control),
                Ok(None) => break,
                Err(e) => {
                    let _ = control.send(Control::Closed(id, e));
                    return;
                }
            }
        }
        match r.read_buf(&mut buf).await {
            Ok(0) => break "closed by the server".to_owned(),
            Ok(_) => shared.lock().unwrap_or_else(|p| p.into_inner()).heard = Some(Instant::now()),
            Err(e) => break format!("read failed: {e}"),
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
    };
    let e = Error::new(
        ErrorKind::Io,
        Outcome::NotRun,
        format!("pub/sub connection to {addr} lost: {end}"),
    );
    let _ = control.send(Control::Closed(id, e));
}

fn on_frame(
    id: LinkId,
    v: Value,
    shared: &Mutex<Shared>,
    inbox: &Inbox,
    control: &mpsc::UnboundedSender<Control>,
) {
    let items = match v {
        Value::Error(msg) => {
            let _ = control.send(Control::Error(id, msg));
            return;
        }
        Value::Array(items) | Value::Push(items) => items,
        _ => return, // +PONG and the like
    };
    let bytes = |i: usize| items.get(i).and_then(Value::as_bytes);
    let Some(word) = bytes(0) else { return };
    let word = word.to_ascii_lowercase();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    let kind = match word.as_slice() {
        b"message" | b"subscribe" | b"unsubscribe" => Kind::Channel,
        b"pmessage" | b"psubscribe" | b"punsubscribe" => Kind::Pattern,
        b"smessage" | b"ssubscribe" | b"sunsubscribe" => Kind::Sharded,
        _ => return, // pong, invalidate...
    };
    let Some(name) = bytes(1) else { return };
    let key: Key = (kind, Bytes::copy_from_slice(name));
    match word.as_slice() {
        b"message" | b"smessage" | b"pmessage" => {
            let (channel, pattern, payload) = if kind == Kind::Pattern {
                (bytes(2), Some(key.1.clone()), bytes(3))
            } else {
                (Some(name), None, bytes(2))
            };
            let (Some(channel), Some(payload)) = (channel, payload) else {
                return;
            };
            // Checked and queued under the lock: a deactivation never races a delivery.
            let s = lock();
            if s.active.contains_key(&key) {
                inbox.push(PubSubItem::Message {
                    kind,
                    channel: Bytes::copy_from_slice(channel),
                    pattern,
                    payload: Bytes::copy_from_slice(payload),
                });
            }
        }
        b"subscribe" | b"psubscribe" | b"ssubscribe" => {
            {
                let mut s = lock();
                if let Some(e) = s.active.get_mut(&key) {
                    if std::mem::take(&mut e.announce) {
                        inbox.push(PubSubItem::Subscribed {
                            kind,
                            name: key.1.clone(),
                            count: inbox.count(),
                        });
                    }
                    if std::mem::take(&mut e.restore) && s.restoring.remove(&key) {
                        s.restored.push(key.clone());
                        finish_restore(&mut s, inbox);
                    }
                }
            }
            let _ = control.send(Control::Subscribed(id, key));
        }
        _ => {
            let _ = control.send(Control::Unsubscribed(id, key));
        }
    }
}

/// When the last interrupted subscription of a batch is confirmed, queues the one
/// `Resubscribed` item for the batch (in stream order, so it precedes the messages that
/// follow the resubscription on this link).
fn finish_restore(s: &mut Shared, inbox: &Inbox) {
    if !s.restoring.is_empty() || s.restored.is_empty() {
        return;
    }
    let since = s.interrupted_at.take().unwrap_or_else(Instant::now);
    inbox.push(PubSubItem::Resubscribed {
        subscriptions: std::mem::take(&mut s.restored),
        interrupted_for: since.elapsed(),
    });
}
