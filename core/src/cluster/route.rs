//! One request, followed through redirects, transient cluster states and broken connections
//! until it has an answer or its deadline passes.
//!
//! The retry rule (no lost, no duplicated writes): resend only when the command certainly did
//! not run (connect refused, never written, MOVED/ASK/TRYAGAIN/CLUSTERDOWN/LOADING/READONLY/
//! MASTERDOWN), or when it is read-only. A write whose outcome is unknown fails with an error
//! that says it may have run.

use tokio::time::Instant;

use super::redirect::{classify, suggests_refresh, Reply};
use super::{Core, Target};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::Value;
use crate::retry::{backoff, deadline_error};
use crate::topology::Addr;
use crate::{cmd, Cmd};

impl Core {
    pub(crate) async fn run(
        &self,
        command: &Cmd,
        target: Target,
        readonly: bool,
        deadline: Instant,
    ) -> Result<Value> {
        let mut attempt = 0u32;
        let mut redirects = 0usize;
        let mut ask: Option<Addr> = None;
        let mut may_have_run = false;
        loop {
            self.check_open()?;
            let (addr, asking) = match ask.take() {
                Some(a) => (a, true),
                None => match self.resolve(&target) {
                    Some(a) => (a, false),
                    None => {
                        self.trigger_refresh();
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
            let result = match self.pool.get(&addr).await {
                Ok(conn) if asking => conn
                    .send_many(&[cmd("ASKING"), command.clone()], deadline)
                    .await
                    .and_then(|mut v| {
                        v.pop()
                            .ok_or_else(|| Error::protocol("no reply after ASKING"))
                    }),
                Ok(conn) => conn.send(command, deadline).await,
                Err(e) => Err(e),
            };
            let err = match result {
                Ok(Value::Error(msg)) => match classify(&msg, &addr) {
                    Reply::Moved(slot, to) => {
                        redirects += 1;
                        if redirects > self.options.max_redirects {
                            return Err(too_many_redirects(redirects, &msg));
                        }
                        self.apply_moved(slot, &to);
                        self.trigger_refresh();
                        continue;
                    }
                    Reply::Ask(to) => {
                        redirects += 1;
                        if redirects > self.options.max_redirects {
                            return Err(too_many_redirects(redirects, &msg));
                        }
                        ask = Some(to);
                        continue;
                    }
                    Reply::Transient(e) => e,
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
                Err(e) if e.outcome() == Outcome::NotRun => e,
                // A lost connection is worth a retry for a read; a malformed reply is not.
                Err(e) if readonly && e.kind() == ErrorKind::Io => {
                    may_have_run = true;
                    e
                }
                Err(e) => {
                    self.trigger_refresh();
                    return Err(e);
                }
            };
            if suggests_refresh(err.kind()) {
                self.trigger_refresh();
            }
            tracing::debug!(%addr, error = %err, "retrying");
            attempt += 1;
            if !backoff(attempt, deadline).await {
                return Err(deadline_error(err, may_have_run));
            }
        }
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
