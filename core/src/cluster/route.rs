//! One request, followed through redirects, transient cluster states, failed nodes and broken
//! connections until it has an answer or its deadline passes.
//!
//! The retry rule (no lost, no duplicated writes): resend only when the command certainly did
//! not run (connect refused, never written, MOVED/ASK/TRYAGAIN/CLUSTERDOWN/LOADING/READONLY/
//! MASTERDOWN), or when it is read-only. A write whose outcome is unknown fails with an error
//! that says it may have run (unless the caller opted in to `retry_unsafe_writes`).

use bytes::Bytes;
use tokio::time::Instant;

use super::redirect::{classify, suggests_refresh, Reply};
use super::{Core, Route, Target, Via};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::metrics::{Metrics, Trigger};
use crate::resp::Value;
use crate::retry::{backoff, deadline_error};
use crate::topology::Addr;
use crate::{cmd, Cmd};

/// ASK or TRYAGAIN replies to one request after which the topology is re-read.
const REPEATS_TO_REFRESH: u32 = 2;

/// SCRIPT LOADs one request may do after NOSCRIPT replies.
const MAX_SCRIPT_LOADS: u32 = 3;

impl Core {
    pub(crate) async fn run(
        &self,
        command: &Cmd,
        target: Target,
        readonly: bool,
        deadline: Instant,
    ) -> Result<Value> {
        self.run_via(command, target, readonly, deadline, Via::Shared)
            .await
    }

    /// [`Core::run`] over the connection `via` says.
    pub(crate) async fn run_via(
        &self,
        command: &Cmd,
        target: Target,
        readonly: bool,
        deadline: Instant,
        via: Via,
    ) -> Result<Value> {
        self.follow(command, target, readonly, deadline, via, None)
            .await
    }

    /// [`Core::run`] for an EVALSHA of `script`: a NOSCRIPT reply (the node never saw the
    /// script: a new primary after a failover, a restart, SCRIPT FLUSH) loads it on the node
    /// that answered and sends the EVALSHA again, inside the same deadline.
    pub(crate) async fn run_script(
        &self,
        command: &Cmd,
        script: &Bytes,
        readonly: bool,
        deadline: Instant,
    ) -> Result<Value> {
        let target = Target::Slot(crate::slot::command_slot(command.args()));
        self.follow(
            command,
            target,
            readonly,
            deadline,
            Via::Shared,
            Some(script),
        )
        .await
    }

    async fn follow(
        &self,
        command: &Cmd,
        target: Target,
        readonly: bool,
        deadline: Instant,
        via: Via,
        script: Option<&Bytes>,
    ) -> Result<Value> {
        let mut loads = 0u32;
        let mut attempt = 0u32;
        let mut redirects = 0usize;
        let (mut asks, mut tryagains) = (0u32, 0u32);
        let mut ask: Option<Addr> = None;
        let mut may_have_run = false;
        loop {
            self.check_open()?;
            let (addr, asking) = match ask.take() {
                Some(a) => (a, true),
                None => match self.route(&target, readonly) {
                    Route::To(a) => (a, false),
                    Route::Wait(e) => {
                        // No new connection attempts to a marked node, no write to a master
                        // being failed over: wait for the refresher or the probe.
                        self.trigger_refresh(Trigger::ConnectionFailure);
                        attempt += 1;
                        if !backoff(attempt, deadline).await {
                            return Err(deadline_error(e, may_have_run));
                        }
                        continue;
                    }
                    Route::Unknown => {
                        self.trigger_refresh(Trigger::ConnectionFailure);
                        attempt += 1;
                        if !backoff(attempt, deadline).await {
                            let e = Error::new(
                                ErrorKind::NoRoute,
                                Outcome::NotRun,
                                format!("no node is known to serve {target:?}"),
                            );
                            return Err(deadline_error(e, may_have_run));
                        }
                        continue;
                    }
                },
            };
            let result = if asking {
                self.send_via(&addr, &[cmd("ASKING"), command.clone()], deadline, via)
                    .await
                    .and_then(|mut v| {
                        v.pop()
                            .ok_or_else(|| Error::protocol("no reply after ASKING"))
                    })
            } else {
                self.send_via(&addr, std::slice::from_ref(command), deadline, via)
                    .await
                    .and_then(|mut v| v.pop().ok_or_else(|| Error::protocol("no reply")))
            };
            let err = match result {
                Ok(Value::Error(msg)) => match classify(&msg, &addr) {
                    Reply::Moved(slot, to) => {
                        redirects += 1;
                        if redirects > self.options.max_redirects {
                            return Err(too_many_redirects(redirects, &msg));
                        }
                        self.follow_moved(slot, &to);
                        continue;
                    }
                    Reply::Ask(to) => {
                        redirects += 1;
                        if redirects > self.options.max_redirects {
                            return Err(too_many_redirects(redirects, &msg));
                        }
                        Metrics::bump(&self.metrics.ask);
                        asks += 1;
                        if asks == REPEATS_TO_REFRESH {
                            self.trigger_refresh(Trigger::Ask);
                        }
                        ask = Some(to);
                        continue;
                    }
                    Reply::Transient(e) => {
                        if e.kind() == ErrorKind::TryAgain {
                            tryagains += 1;
                            if tryagains == REPEATS_TO_REFRESH {
                                self.trigger_refresh(Trigger::TryAgain);
                            }
                        }
                        e
                    }
                    Reply::NoScript(e) => match script {
                        // A node loads it once per request: a script flushed again and again
                        // is an error, not a loop.
                        Some(body) if loads < MAX_SCRIPT_LOADS => {
                            loads += 1;
                            self.load_script(&addr, body, deadline).await?;
                            if asking {
                                ask = Some(addr);
                            }
                            continue;
                        }
                        _ => return Err(e),
                    },
                    Reply::Final(e) => return Err(e),
                },
                Ok(v) => return Ok(v),
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    // Only the deadline raises Timeout here: nothing is left to retry in.
                    let outcome = if may_have_run {
                        Outcome::MayHaveRun
                    } else {
                        e.outcome()
                    };
                    return Err(e.with_outcome(outcome));
                }
                Err(e) if self.may_resend(&e, readonly) => {
                    may_have_run |= e.outcome() != Outcome::NotRun;
                    e
                }
                Err(e) => return Err(e),
            };
            if suggests_refresh(err.kind()) {
                let why = match err.kind() {
                    ErrorKind::ReadOnly => Trigger::ReadOnly,
                    ErrorKind::ClusterDown | ErrorKind::MasterDown => Trigger::ClusterDown,
                    _ => Trigger::ConnectionFailure,
                };
                self.trigger_refresh(why);
            }
            tracing::debug!(%addr, error = %err, "retrying");
            Metrics::bump(&self.metrics.retries);
            attempt += 1;
            if !backoff(attempt, deadline).await {
                return Err(deadline_error(err, may_have_run));
            }
        }
    }
}

impl Core {
    /// SCRIPT LOAD of `body` on one node (the one that answered NOSCRIPT).
    async fn load_script(&self, addr: &Addr, body: &Bytes, deadline: Instant) -> Result<()> {
        let load = cmd("SCRIPT").arg("LOAD").arg(body.clone());
        let reply = self
            .send_to(addr, std::slice::from_ref(&load), deadline)
            .await?
            .pop();
        match reply {
            Some(Value::Error(msg)) => Err(Error::from_server(&msg).context("SCRIPT LOAD")),
            Some(_) => Ok(()),
            None => Err(Error::protocol("no reply to SCRIPT LOAD")),
        }
    }

    /// The one retry rule: an attempt may be sent again when it certainly did not run, or
    /// when its connection was lost under a read (or a write, if the caller accepts
    /// duplicates). A malformed reply or a server's final answer is never resent.
    pub(super) fn may_resend(&self, e: &Error, readonly: bool) -> bool {
        e.outcome() == Outcome::NotRun
            || (matches!(e.kind(), ErrorKind::Io | ErrorKind::Closed)
                && (readonly || self.options.retry_unsafe_writes))
    }
}

fn too_many_redirects(n: usize, last: &[u8]) -> Error {
    Error::new(
        ErrorKind::TooManyRedirects,
        Outcome::NotRun,
        format!(
            "gave up after {n} redirections; last: {}",
            String::from_utf8_lossy(last)
        ),
    )
}
