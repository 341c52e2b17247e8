//! MULTI/EXEC (with optional WATCH) on one connection held for the transaction, to the primary
//! of the one slot all its keys share.
//!
//! The retry rule, applied to the whole transaction: it is sent again only when it certainly
//! did not run and nothing was WATCHed (a redirect or a transient state refused a queued
//! command, so EXEC answered EXECABORT; or the batch was never written). After WATCH, the
//! watch belongs to the held connection: any interruption ends the transaction with an error
//! and the caller starts again (WATCH, read, MULTI...). Once EXEC may have been written, an
//! interruption is reported as "may have run" and never resent: a retry could apply it twice.

use std::sync::Arc;

use tokio::time::Instant;

use super::redirect::{classify, Reply};
use super::{Core, Route, Target};
use crate::conn::Connection;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::metrics::{Metrics, Trigger};
use crate::resp::Value;
use crate::retry::{backoff, deadline_error};
use crate::slot::{self, Routing};
use crate::topology::Addr;
use crate::{cmd, Cmd};

/// A MULTI/EXEC transaction. Created by [`crate::Client::transaction`].
///
/// Every key of the transaction (watched or queued) must hash to one slot (use a hash tag,
/// `{user1}.a`, `{user1}.b`); otherwise [`Transaction::watch`] or [`Transaction::add`] fail
/// with [`ErrorKind::CrossSlot`] and nothing is sent.
///
/// ```no_run
/// # async fn demo(client: slotwise::Client) -> slotwise::Result<()> {
/// use slotwise::cmd;
/// let mut tx = client.transaction();
/// tx.watch(&["{acct}.balance"]).await?;
/// let balance = tx.query(cmd("GET").arg("{acct}.balance")).await?;
/// tx.add(cmd("SET").arg("{acct}.balance").arg(100))?;
/// match tx.execute().await? {
///     Some(replies) => println!("done: {replies:?}"),
///     None => println!("a watched key changed: nothing was applied; try again"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Transaction {
    core: Arc<Core>,
    slot: Option<u16>,
    held: Option<(Addr, Connection)>,
    watched: bool,
    cmds: Vec<Cmd>,
}

impl Transaction {
    pub(crate) fn new(core: Arc<Core>) -> Transaction {
        Transaction {
            core,
            slot: None,
            held: None,
            watched: false,
            cmds: Vec::new(),
        }
    }

    /// WATCHes `keys` on the primary of their slot, over the connection held for the rest of
    /// the transaction: if any of them changes before [`Transaction::execute`], EXEC applies
    /// nothing and `execute` returns `Ok(None)`.
    pub async fn watch<K: crate::ToArg + Clone>(&mut self, keys: &[K]) -> Result<()> {
        if keys.is_empty() {
            return Err(Error::invalid("WATCH needs at least one key"));
        }
        let mut c = cmd("WATCH");
        for k in keys {
            c.push(k.clone());
        }
        self.claim_slot(&c)?;
        let deadline = self.core.deadline();
        let reply = self.send_held(&c, deadline).await?;
        self.watched = true;
        match reply {
            Value::Error(msg) => Err(Error::from_server(&msg).context("WATCH")),
            _ => Ok(()),
        }
    }

    /// Runs one command now, on the held connection (reads between WATCH and the queued
    /// commands); its keys must be in the transaction's slot.
    pub async fn query(&mut self, command: Cmd) -> Result<Value> {
        self.check_command(&command)?;
        let deadline = self.core.deadline();
        match self.send_held(&command, deadline).await? {
            Value::Error(msg) => Err(Error::from_server(&msg)),
            v => Ok(v),
        }
    }

    /// Queues a command for MULTI/EXEC; nothing is sent until [`Transaction::execute`].
    pub fn add(&mut self, command: Cmd) -> Result<&mut Self> {
        self.check_command(&command)?;
        self.cmds.push(command);
        Ok(self)
    }

    /// Number of queued commands.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// True when no command is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Sends MULTI, the queued commands and EXEC in one write. `Ok(Some(replies))`: EXEC ran
    /// them (a command that failed inside has a `Value::Error` in its place); `Ok(None)`: a
    /// watched key changed, nothing was applied. An EXECABORT (a command refused while
    /// queueing) is [`ErrorKind::ExecAbort`], nothing applied.
    pub async fn execute(mut self) -> Result<Option<Vec<Value>>> {
        self.core.check_open()?;
        let deadline = self.core.deadline();
        let mut batch = Vec::with_capacity(self.cmds.len() + 3);
        batch.push(cmd("MULTI"));
        batch.extend(self.cmds.iter().cloned());
        batch.push(cmd("EXEC"));
        let (mut attempt, mut redirects) = (0u32, 0usize);
        let mut ask: Option<Addr> = None;
        loop {
            let sent = match ask.take() {
                Some(to) => self.send_asking(&to, &batch, deadline).await,
                None => self.send_batch(&batch, deadline).await,
            };
            let err = match sent {
                Ok(replies) => match self.read_exec(replies)? {
                    Exec::Done(v) => return Ok(v),
                    Exec::Refused { first, from } => match classify(&first, &from) {
                        // The transaction did not run: a queued command was redirected or
                        // met a transient state. Without WATCH it can be sent again.
                        Reply::Moved(slot, to) if !self.watched => {
                            redirects += 1;
                            self.core.follow_moved(slot, &to);
                            if redirects > self.core.options.max_redirects {
                                return Err(exec_abort(&first));
                            }
                            self.held = None;
                            continue;
                        }
                        Reply::Ask(to) if !self.watched => {
                            redirects += 1;
                            if redirects > self.core.options.max_redirects {
                                return Err(exec_abort(&first));
                            }
                            ask = Some(to);
                            continue;
                        }
                        Reply::Transient(e) if !self.watched => {
                            self.core.trigger_refresh(Trigger::ClusterDown);
                            self.held = None;
                            e
                        }
                        _ => return Err(exec_abort(&first)),
                    },
                },
                Err(e) if e.outcome() == Outcome::NotRun && !self.watched => {
                    self.held = None;
                    e
                }
                Err(e) => return Err(e.context("transaction")),
            };
            Metrics::bump(&self.core.metrics.retries);
            attempt += 1;
            if !backoff(attempt, deadline).await {
                return Err(deadline_error(err, false));
            }
        }
    }

    /// Checks a command may join the transaction and pins the transaction's slot.
    fn check_command(&mut self, command: &Cmd) -> Result<()> {
        let args = command.args();
        if args.is_empty() {
            return Err(Error::invalid("empty command"));
        }
        let name = command.name_upper();
        let info = slot::command_info(args);
        let control = matches!(
            &name[..],
            b"MULTI" | b"EXEC" | b"DISCARD" | b"WATCH" | b"UNWATCH"
        );
        if control || (info.routing != Routing::Keyed && info.routing != Routing::AnyPrimary) {
            return Err(Error::invalid(format!(
                "{} cannot be part of a transaction",
                String::from_utf8_lossy(&name)
            )));
        }
        self.claim_slot(command)
    }

    /// Every key must share the transaction's slot (cluster mode; one node holds them all
    /// otherwise).
    fn claim_slot(&mut self, command: &Cmd) -> Result<()> {
        if self.core.mode != super::Mode::Cluster {
            return Ok(());
        }
        let args = command.args();
        let indices = if command.name_upper() == b"WATCH" {
            (1..args.len()).collect()
        } else {
            slot::key_indices(args)
        };
        for i in indices {
            let s = slot::key_slot(&args[i]);
            match self.slot {
                None => {
                    self.slot = Some(s);
                    // A connection opened before any key was known (a keyless query) may be
                    // on another node; nothing is watched on it yet.
                    if !self.watched {
                        self.held = None;
                    }
                }
                Some(t) if t == s => {}
                Some(t) => {
                    return Err(Error::new(
                        ErrorKind::CrossSlot,
                        Outcome::NotRun,
                        format!(
                            "key {} is in slot {s}, the transaction is in slot {t}: every key of a \
                             transaction must share one slot (use a hash tag)",
                            String::from_utf8_lossy(&args[i])
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// One command on the held connection, opening it first when there is none.
    async fn send_held(&mut self, c: &Cmd, deadline: Instant) -> Result<Value> {
        let mut redirects = 0usize;
        loop {
            let mut replies = self.send_batch(std::slice::from_ref(c), deadline).await?;
            let reply = replies.pop().ok_or_else(|| Error::protocol("no reply"))?;
            // Nothing watched yet: a MOVED (the slot's primary changed, e.g. a failover this
            // client had not seen) is followed like any request's, on a new held connection.
            if let (Value::Error(msg), false, Some((from, _))) =
                (&reply, self.watched, self.held.as_ref())
            {
                if let Reply::Moved(slot, to) = classify(msg, from) {
                    redirects += 1;
                    if redirects <= self.core.options.max_redirects {
                        self.core.follow_moved(slot, &to);
                        self.held = None;
                        continue;
                    }
                }
            }
            return Ok(reply);
        }
    }

    async fn send_batch(&mut self, cmds: &[Cmd], deadline: Instant) -> Result<Vec<Value>> {
        if self.held.as_ref().is_none_or(|(_, c)| c.is_closed()) {
            if self.watched {
                // The connection that held the WATCH is gone, and the watch with it.
                return Err(Error::new(
                    ErrorKind::Io,
                    Outcome::NotRun,
                    "the connection holding the transaction's WATCH was lost; nothing was applied",
                ));
            }
            self.held = Some(self.open(deadline).await?);
        }
        let Some((addr, conn)) = self.held.as_ref() else {
            return Err(Error::new(
                ErrorKind::Io,
                Outcome::NotRun,
                "no connection for the transaction",
            ));
        };
        let sent = conn.send_many(cmds, deadline).await;
        self.core.observe(addr, &sent);
        if sent.is_err() {
            self.held = None;
        }
        sent
    }

    /// ASKING then the batch on a connection of its own to the node importing the slot: the
    /// ASKING flag lasts for a whole MULTI block.
    async fn send_asking(
        &mut self,
        to: &Addr,
        cmds: &[Cmd],
        deadline: Instant,
    ) -> Result<Vec<Value>> {
        self.held = None;
        let conn = self.core.pool.open(to).await;
        self.core.observe(to, &conn);
        let conn = conn?;
        let mut batch = vec![cmd("ASKING")];
        batch.extend(cmds.iter().cloned());
        let sent = conn.send_many(&batch, deadline).await;
        self.core.observe(to, &sent);
        let mut replies = sent?.into_iter();
        match replies.next() {
            Some(Value::Error(msg)) => Err(Error::from_server(&msg).context("ASKING")),
            Some(_) => Ok(replies.collect()),
            None => Err(Error::protocol("no reply to ASKING")),
        }
    }

    /// A connection of its own to the primary serving the transaction's slot, waiting (inside
    /// the deadline) while that primary is being failed over or unknown.
    async fn open(&self, deadline: Instant) -> Result<(Addr, Connection)> {
        let target = Target::Slot(self.slot);
        let mut attempt = 0u32;
        loop {
            self.core.check_open()?;
            let last = match self.core.route(&target, false) {
                Route::To(addr) => {
                    self.core.metrics.connect(&addr);
                    let conn = self.core.pool.open(&addr).await;
                    self.core.observe(&addr, &conn);
                    match conn {
                        Ok(c) => return Ok((addr, c)),
                        Err(e) if e.outcome() == Outcome::NotRun => e,
                        Err(e) => return Err(e),
                    }
                }
                Route::Wait(e) => e,
                Route::Unknown => Error::new(
                    ErrorKind::NoRoute,
                    Outcome::NotRun,
                    format!("no node is known to serve {target:?}"),
                ),
            };
            self.core.trigger_refresh(Trigger::ConnectionFailure);
            attempt += 1;
            if !backoff(attempt, deadline).await {
                return Err(deadline_error(last, false));
            }
        }
    }

    /// Reads the replies to MULTI, the queued commands and EXEC.
    fn read_exec(&self, mut replies: Vec<Value>) -> Result<Exec> {
        if replies.len() != self.cmds.len() + 2 {
            return Err(Error::protocol("wrong number of replies to MULTI/EXEC"));
        }
        let exec = replies.pop().unwrap_or(Value::Nil);
        if let Value::Error(msg) = &replies[0] {
            return Err(Error::from_server(msg).context("MULTI"));
        }
        let first_refusal = replies[1..].iter().find_map(|v| match v {
            Value::Error(m) => Some(m.clone()),
            _ => None,
        });
        match exec {
            Value::Array(items) => Ok(Exec::Done(Some(items))),
            Value::Nil => Ok(Exec::Done(None)),
            Value::Error(msg) => match first_refusal {
                Some(first) if msg.starts_with(b"EXECABORT") => Ok(Exec::Refused {
                    first,
                    from: self.held_addr(),
                }),
                _ if msg.starts_with(b"EXECABORT") => Err(exec_abort(&msg)),
                _ => Err(Error::from_server(&msg).context("EXEC")),
            },
            other => Err(Error::protocol(format!("unexpected EXEC reply {other:?}"))),
        }
    }

    fn held_addr(&self) -> Addr {
        self.held
            .as_ref()
            .map(|(a, _)| a.clone())
            .unwrap_or_else(|| Addr::new("", 0))
    }
}

/// What EXEC said.
enum Exec {
    /// It ran (`Some`), or a watched key changed (`None`).
    Done(Option<Vec<Value>>),
    /// EXECABORT: a command was refused while queueing (`first` is its error reply; `from`
    /// the node that refused, for redirects that leave the host out).
    Refused { first: bytes::Bytes, from: Addr },
}

fn exec_abort(first: &[u8]) -> Error {
    Error::new(
        ErrorKind::ExecAbort,
        Outcome::NotRun,
        format!(
            "EXECABORT: the transaction was discarded, nothing was applied; a queued command was refused: {}",
            String::from_utf8_lossy(first)
        ),
    )
}
