//! `health_check()`: proof that every primary accepts a write, not just a PING. A client whose
//! master was demoted behind its back (field report 4) must report unhealthy.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

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
    /// (no redirect, no retry): what it answers is what it would answer a write.
    async fn probe_write(&self, shard: &Shard, deadline: Instant) -> NodeReport {
        let addr = shard.primary.addr.clone();
        let key = probe_key(shard.slots[0].0);
        let nonce = rand::random::<u64>();
        let probe = cmd("SET").arg(key).arg(nonce).arg("PX").arg(PROBE_TTL_MS);
        let started = Instant::now();
        let error = match self
            .send_to(&addr, &[probe], deadline)
            .await
            .map(|mut v| v.pop())
        {
            Ok(Some(Value::Simple(s))) if &s[..] == b"OK" => None,
            Ok(Some(Value::Error(msg))) => {
                let e = Error::from_server(&msg);
                if e.kind() == ErrorKind::ReadOnly {
                    // The master moved: follow it now, report what was found.
                    self.trigger_refresh(Trigger::ReadOnly);
                }
                Some(e.context(format_args!("write probe on {addr}")))
            }
            Ok(other) => Some(Error::protocol(format!(
                "write probe on {addr}: unexpected reply {other:?}"
            ))),
            Err(e) => Some(e.context(format_args!("write probe on {addr}"))),
        };
        NodeReport {
            latency: error.is_none().then(|| started.elapsed()),
            addr,
            error,
        }
    }
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
