//! Pipelines: commands grouped per node, each group written as one batch, replies put back in
//! the caller's order. A command redirected or refused by a transient state inside a batch did
//! not run, so it goes through the single-request path on its own.

use std::collections::HashMap;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::redirect::{classify, Reply};
use super::{Core, Mode, Route, Target};
use crate::error::{Error, Result};
use crate::resp::Value;
use crate::slot::{self, Routing};
use crate::topology::Addr;
use crate::Cmd;

impl Core {
    pub(crate) async fn pipeline(&self, cmds: &[Cmd], deadline: Instant) -> Vec<Result<Value>> {
        if let Err(e) = self.check_open() {
            return cmds.iter().map(|_| Err(e.clone())).collect();
        }
        let mut batches: HashMap<Addr, Vec<usize>> = HashMap::new();
        let mut alone: Vec<usize> = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            let (info, key_slot) = slot::command_route(c.args());
            // Blocking commands never share a batch's connection: they go alone, on their own.
            let whole = info.routing == Routing::Keyed
                && !info.blocking
                && (self.mode != Mode::Cluster || info.split.is_none() || single_slot(c));
            // Batched only where routing names a usable node now; the rest (marked nodes,
            // unknown slots, fan-outs, splits) take the single-request path with its waits.
            let route = whole.then(|| self.route(&Target::Slot(key_slot), info.readonly));
            match route {
                Some(Route::To(a)) => batches.entry(a).or_default().push(i),
                _ => alone.push(i),
            }
        }
        let mut results: Vec<Option<Result<Value>>> = (0..cmds.len()).map(|_| None).collect();
        let batch_runs = join_all(
            batches
                .into_iter()
                .map(|(addr, idx)| self.run_batch(cmds, addr, idx, deadline)),
        );
        let alone_runs = join_all(
            alone
                .iter()
                .map(|&i| async move { (i, self.execute(&cmds[i], deadline).await) }),
        );
        let (batch_results, alone_results) = tokio::join!(batch_runs, alone_runs);
        for (i, r) in batch_results.into_iter().flatten().chain(alone_results) {
            results[i] = Some(r);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("pipeline lost a reply"))))
            .collect()
    }

    async fn run_batch(
        &self,
        cmds: &[Cmd],
        addr: Addr,
        idx: Vec<usize>,
        deadline: Instant,
    ) -> Vec<(usize, Result<Value>)> {
        let batch: Vec<Cmd> = idx.iter().map(|&i| cmds[i].clone()).collect();
        let sent = self.send_to(&addr, &batch, deadline).await;
        let mut out = Vec::with_capacity(idx.len());
        let mut again = Vec::new();
        match sent {
            Ok(replies) => {
                for (&i, v) in idx.iter().zip(replies) {
                    match v {
                        Value::Error(msg) => match classify(&msg, &addr) {
                            Reply::Final(e) | Reply::NoScript(e) => out.push((i, Err(e))),
                            _ => again.push(i),
                        },
                        v => out.push((i, Ok(v))),
                    }
                }
            }
            Err(e) => {
                for &i in &idx {
                    let readonly = slot::command_info(cmds[i].args()).readonly;
                    if self.may_resend(&e, readonly) {
                        again.push(i);
                    } else {
                        out.push((i, Err(e.clone())));
                    }
                }
            }
        }
        let retried = join_all(
            again
                .into_iter()
                .map(|i| async move { (i, self.execute(&cmds[i], deadline).await) }),
        )
        .await;
        out.extend(retried);
        out
    }
}

fn single_slot(c: &Cmd) -> bool {
    let args = c.args();
    let keys = slot::key_indices(args);
    let mut slots = keys
        .iter()
        .filter_map(|&i| args.get(i))
        .map(|k| slot::key_slot(k));
    match slots.next() {
        Some(first) => slots.all(|s| s == first),
        None => true,
    }
}
