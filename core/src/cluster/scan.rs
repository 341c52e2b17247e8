//! A keyspace scan across every primary that survives topology changes.
//!
//! SCAN's cursor belongs to one node, so the scan walks the primaries one after the other,
//! each with its own cursor. A walk on node X *covers* the slots X owned both when the walk
//! started and when it ended (the topology is re-read at each end): SCAN returns every key
//! that stays on X for the whole walk, so every key of those slots that existed throughout is
//! returned. When every walk is done, slots not covered (they moved to another node, or their
//! node failed over, during the walk that should have covered them) are walked again on
//! their current owner, until every served slot is covered. Keys may come back more than once
//! (SCAN's own rule, and a re-walked node returns all its keys again).
//!
//! Not covered by this guarantee: a slot whose migration is still in progress when the walk
//! of its source ends (the topology announces the new owner only once the move completes), or
//! a slot that moves away and back within one walk.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::{Core, Target};
use crate::cmd;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::Value;
use crate::slot::SLOT_COUNT;
use crate::topology::{Addr, Topology};

/// Walks allowed per primary known at the start before the scan gives up on a topology that
/// keeps changing.
const WALKS_PER_NODE: usize = 4;

/// An iteration over every key of the deployment, page by page. Created by
/// [`crate::Client::scan`]; call [`Scan::next_page`] until it returns `None`. Every key that
/// exists for the whole scan is returned at least once, also when slots move or primaries
/// fail over during the scan (see the module notes for the limits); keys may repeat.
#[derive(Debug)]
pub struct Scan {
    core: Arc<Core>,
    queue: VecDeque<Addr>,
    walk: Option<Walk>,
    covered: Vec<bool>,
    walks: usize,
    max_walks: usize,
    started: bool,
    pattern: Option<Bytes>,
    count: Option<u64>,
}

/// One node's SCAN, from cursor 0 back to 0.
#[derive(Debug)]
struct Walk {
    addr: Addr,
    cursor: Bytes,
    /// The slots the node owned when the walk started.
    owned: Vec<u16>,
}

impl Scan {
    pub(crate) fn new(core: Arc<Core>, pattern: Option<&[u8]>, count: Option<u64>) -> Scan {
        let queue: VecDeque<Addr> = core
            .topology()
            .primaries()
            .map(|n| n.addr.clone())
            .collect();
        Scan {
            max_walks: queue.len().max(1) * WALKS_PER_NODE,
            queue,
            core,
            walk: None,
            covered: vec![false; SLOT_COUNT as usize],
            walks: 0,
            started: false,
            pattern: pattern.map(Bytes::copy_from_slice),
            count,
        }
    }

    /// The next page of keys (possibly empty), or `None` when every slot has been covered.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        loop {
            if !self.started {
                // The first walk's starting view must be current, like every later one.
                self.started = true;
                self.sync().await;
            }
            if self.walk.is_none() && !self.start_walk().await? {
                return Ok(None);
            }
            let Some((addr, cursor)) = self
                .walk
                .as_ref()
                .map(|w| (w.addr.clone(), w.cursor.clone()))
            else {
                continue;
            };
            let mut c = cmd("SCAN").arg(cursor);
            if let Some(p) = &self.pattern {
                c = c.arg("MATCH").arg(p.clone());
            }
            if let Some(n) = self.count {
                c = c.arg("COUNT").arg(n);
            }
            let reply = self
                .core
                .run(&c, Target::Node(addr.clone()), true, self.core.deadline())
                .await;
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    // A node that failed over or left: its walk is dropped, and its slots
                    // are walked on their new owner. A primary still serving is an error.
                    self.sync().await;
                    if owned_by(&self.core.topology(), &addr).is_empty() {
                        tracing::debug!(%addr, error = %e, "scan: node left, walking its successor");
                        self.walk = None;
                        continue;
                    }
                    return Err(e);
                }
            };
            let (cursor, keys) = parse_reply(reply)?;
            if &cursor[..] == b"0" {
                self.finish_walk().await;
            } else if let Some(w) = self.walk.as_mut() {
                w.cursor = cursor;
            }
            return Ok(Some(keys));
        }
    }

    /// Starts the next walk: the next queued node, or the owners of slots still uncovered.
    /// False when every served slot is covered.
    async fn start_walk(&mut self) -> Result<bool> {
        if self.queue.is_empty() {
            let topo = self.core.topology();
            for shard in topo.shards() {
                let uncovered = shard
                    .slots
                    .iter()
                    .flat_map(|&(a, b)| a..=b)
                    .any(|s| !self.covered[s as usize]);
                if uncovered {
                    self.queue.push_back(shard.primary.addr.clone());
                }
            }
        }
        let Some(addr) = self.queue.pop_front() else {
            return Ok(false);
        };
        self.walks += 1;
        if self.walks > self.max_walks {
            return Err(Error::new(
                ErrorKind::Topology,
                Outcome::NotRun,
                format!(
                    "scan gave up after {} node walks: slots kept moving",
                    self.max_walks
                ),
            ));
        }
        let owned = owned_by(&self.core.topology(), &addr);
        self.walk = Some(Walk {
            addr,
            cursor: Bytes::from_static(b"0"),
            owned,
        });
        Ok(true)
    }

    /// A walk reached cursor 0: it covers the slots its node owned from start to end.
    async fn finish_walk(&mut self) {
        let Some(walk) = self.walk.take() else { return };
        self.sync().await;
        let topo = self.core.topology();
        for s in walk.owned {
            let owner = topo.shard_for_slot(s).map(|sh| &sh.primary.addr);
            if owner == Some(&walk.addr) {
                self.covered[s as usize] = true;
            }
        }
    }

    /// Re-reads the topology (cluster and Sentinel modes). A failed refresh leaves the view
    /// as it is: the next walk end tries again.
    async fn sync(&self) {
        if let Some(r) = &self.core.refresher {
            if let Err(e) = r.refresh_and_wait(self.core.deadline()).await {
                tracing::debug!(error = %e, "scan: topology refresh failed");
            }
        }
    }
}

/// The slots `addr` owns as a primary in `topo`.
fn owned_by(topo: &Topology, addr: &Addr) -> Vec<u16> {
    topo.shards()
        .iter()
        .filter(|s| &s.primary.addr == addr)
        .flat_map(|s| s.slots.iter().flat_map(|&(a, b)| a..=b))
        .collect()
}

fn parse_reply(reply: Value) -> Result<(Bytes, Vec<Value>)> {
    let (cursor, keys) = match reply {
        Value::Array(mut parts) if parts.len() == 2 => {
            let keys = parts.pop().unwrap_or(Value::Nil);
            let cursor = parts.pop().unwrap_or(Value::Nil);
            (cursor, keys)
        }
        other => return Err(Error::protocol(format!("unexpected SCAN reply {other:?}"))),
    };
    let cursor = cursor
        .as_bytes()
        .map(Bytes::copy_from_slice)
        .ok_or_else(|| Error::protocol("SCAN cursor is not a string"))?;
    match keys {
        Value::Array(k) | Value::Set(k) => Ok((cursor, k)),
        other => Err(Error::protocol(format!("unexpected SCAN keys {other:?}"))),
    }
}
