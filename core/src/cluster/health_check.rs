//! `health_check()`: proof that every primary accepts a write, not just a PING. A client whose
//! master was demoted behind its back (field report 4) must report unhealthy.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::redirect::{classify, Reply};
use super::Core;
use crate::cmd;
use crate::error::{Error, ErrorKind};
use crate::metrics::Trigger;
use crate::resp::Value;
use crate::slot::{key_slot, SLOT_COUNT};
use crate::topology::{Addr, Shard};

/// The outcome of [`crate::Client::health_check`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HealthReport {
    /// Every primary accepted the write probe and every slot has a primary.
    pub healthy: bool,
    /// One entry per primary probed.
    pub nodes: Vec<NodeReport>,
    /// Slots with no known primary (cluster mode).
    pub uncovered_slots: usize,
}

/// The write probe's result on one primary.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeReport {
    /// The primary.
    pub addr: Addr,
    /// The probe's round trip, when it succeeded.
    pub latency: Option<Duration>,
    /// Why the probe failed, when it did.
    pub error: Option<Error>,
}

/// How long a probe key lives: it is a proof, not data.
const PROBE_TTL_MS: u64 = 10_000;

impl Core {
    pub(crate) async fn health_check(&self, deadline: Instant) -> HealthReport {
        let (version, report) = (self.topology_version(), self.probe_all(deadline).await);
        // A primary that cannot be reached may be one the cluster has already replaced while
        // no request of ours went its way (nothing told us): look at the cluster again, and
        // if the picture changed, prove the new one. Requests would do the same (mark, refresh,
        // retry), so the report says what a request would meet, not what an old view says.
        let unreachable = report.nodes.iter().any(|n| {
            n.error.as_ref().is_some_and(|e| {
                matches!(
                    e.kind(),
                    ErrorKind::Connect | ErrorKind::Io | ErrorKind::Timeout | ErrorKind::Closed
                )
            })
        });
        let Some(refresher) = self.refresher.as_ref().filter(|_| unreachable) else {
            return report;
        };
        if refresher.refresh_and_wait(deadline).await.is_err() || self.topology_version() == version
        {
            return report;
        }
        self.probe_all(deadline).await
    }

    /// One write probe per primary of the topology in use.
    async fn probe_all(&self, deadline: Instant) -> HealthReport {
        let topo = self.topology();
        let shards: Vec<&Shard> = topo
            .shards()
            .iter()
            .filter(|s| !s.slots.is_empty())
            .collect();
        let nodes = join_all(shards.iter().map(|s| self.probe_write(s, deadline))).await;
        let uncovered_slots = usize::from(SLOT_COUNT) - topo.covered_slots();
        HealthReport {
            healthy: !nodes.is_empty()
                && uncovered_slots == 0
                && nodes.iter().all(|n| n.error.is_none()),
            nodes,
            uncovered_slots,
        }
    }

    /// SET with a short TTL on a key of the shard's own slots, sent to the primary directly
    /// (no retry): what it answers is what it would answer a write. A MOVED means only that
    /// the client's picture is stale (a slot migrated behind its back), not that the node is
    /// unwell: the move is applied, a refresh triggered, and a slot the node still serves is
    /// probed instead, a few times at most.
    async fn probe_write(&self, shard: &Shard, deadline: Instant) -> NodeReport {
        let addr = shard.primary.addr.clone();
        let started = Instant::now();
        let mut slot = shard.slots[0].0;
        let mut error = None;
        for _ in 0..PROBE_ATTEMPTS {
            match self.probe_slot(&addr, slot, deadline).await {
                Probe::Ok => {
                    error = None;
                    break;
                }
                Probe::Failed(e) => {
                    error = Some(e);
                    break;
                }
                Probe::Moved(moved, to, e) => {
                    self.apply_moved(moved, &to);
                    self.trigger_refresh(Trigger::Moved);
                    let topo = self.topology();
                    let next = topo
                        .shards()
                        .iter()
                        .find(|s| s.primary.addr == addr)
                        .and_then(|s| s.slots.first());
                    match next {
                        Some(&(first, _)) => {
                            slot = first;
                            error = Some(e);
                        }
                        // Every slot it served has moved: nothing left to prove for it.
                        None => {
                            error = None;
                            break;
                        }
                    }
                }
            }
        }
        NodeReport {
            latency: error.is_none().then(|| started.elapsed()),
            addr,
            error,
        }
    }

    async fn probe_slot(&self, addr: &Addr, slot: u16, deadline: Instant) -> Probe {
        let nonce = rand::random::<u64>();
        let probe = cmd("SET")
            .arg(probe_key(slot))
            .arg(nonce)
            .arg("PX")
            .arg(PROBE_TTL_MS);
        match self
            .send_to(addr, &[probe], deadline)
            .await
            .map(|mut v| v.pop())
        {
            Ok(Some(Value::Simple(s))) if &s[..] == b"OK" => Probe::Ok,
            Ok(Some(Value::Error(msg))) => {
                let e = Error::from_server(&msg).context(format_args!("write probe on {addr}"));
                if let Reply::Moved(moved, to) = classify(&msg, addr) {
                    return Probe::Moved(moved, to, e);
                }
                if e.kind() == ErrorKind::ReadOnly {
                    // The master moved: follow it now, report what was found.
                    self.trigger_refresh(Trigger::ReadOnly);
                }
                Probe::Failed(e)
            }
            Ok(other) => Probe::Failed(Error::protocol(format!(
                "write probe on {addr}: unexpected reply {other:?}"
            ))),
            Err(e) => Probe::Failed(e.context(format_args!("write probe on {addr}"))),
        }
    }
}

/// Probes of one primary at most: each MOVED teaches the client one migrated slot.
const PROBE_ATTEMPTS: usize = 4;

/// What one write probe found.
enum Probe {
    Ok,
    /// The slot lives elsewhere now: the slot, its owner, the reply as an error.
    Moved(u16, Addr, Error),
    Failed(Error),
}

/// A key in `slot` (found by counting, a few thousand CRCs at worst).
fn probe_key(slot: u16) -> String {
    (0u64..1_000_000)
        .map(|n| format!("__slotwise:health:{{{n}}}"))
        .find(|k| key_slot(k.as_bytes()) == slot)
        .unwrap_or_else(|| "__slotwise:health".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn probe_keys_land_in_their_slot() {
        for slot in [0u16, 1, 5460, 5461, 12000, 16383] {
            assert_eq!(
                crate::slot::key_slot(super::probe_key(slot).as_bytes()),
                slot
            );
        }
    }
}
