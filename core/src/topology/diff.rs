//! What changed between two topologies: the payload of topology events.

use std::collections::BTreeSet;

use super::{Addr, Topology};
use crate::slot::SLOT_COUNT;

/// The difference between the topology in use and the one replacing it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopologyDiff {
    /// Slots whose primary changed (failovers count every slot of the shard).
    pub slots_moved: u32,
    /// `(old primary, new primary)` for shards whose primary changed and whose new primary
    /// was a node of the same shard before: failovers.
    pub failovers: Vec<(Addr, Addr)>,
    /// Nodes present now and not before.
    pub nodes_added: Vec<Addr>,
    /// Nodes present before and not now.
    pub nodes_removed: Vec<Addr>,
}

impl TopologyDiff {
    /// Compares `old` with `new`.
    pub fn between(old: &Topology, new: &Topology) -> TopologyDiff {
        let mut slots_moved = 0;
        let mut failovers = BTreeSet::new();
        for slot in 0..SLOT_COUNT {
            let (a, b) = (old.shard_for_slot(slot), new.shard_for_slot(slot));
            let (pa, pb) = (a.map(|s| &s.primary.addr), b.map(|s| &s.primary.addr));
            if pa == pb {
                continue;
            }
            slots_moved += 1;
            if let (Some(a), Some(b)) = (a, b) {
                if a.replicas.iter().any(|r| r.addr == b.primary.addr) {
                    failovers.insert((a.primary.addr.clone(), b.primary.addr.clone()));
                }
            }
        }
        let before: BTreeSet<&Addr> = old.nodes().map(|n| &n.addr).collect();
        let after: BTreeSet<&Addr> = new.nodes().map(|n| &n.addr).collect();
        TopologyDiff {
            slots_moved,
            failovers: failovers.into_iter().collect(),
            nodes_added: after.difference(&before).map(|a| (*a).clone()).collect(),
            nodes_removed: before.difference(&after).map(|a| (*a).clone()).collect(),
        }
    }

    /// True when nothing a router cares about changed.
    pub fn is_empty(&self) -> bool {
        self.slots_moved == 0 && self.nodes_added.is_empty() && self.nodes_removed.is_empty()
    }
}
