//! The client's picture of a cluster: shards (a primary, its replicas, the slot ranges they
//! serve) and a slot table for constant-time routing, built from `CLUSTER SHARDS` (preferred)
//! or `CLUSTER SLOTS` (fallback) replies. A [`Topology`] is immutable: a refresh or a MOVED
//! builds a new one, so readers never see a half-updated view.

mod diff;
mod nodes;
mod parse;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::slot::SLOT_COUNT;

pub use diff::TopologyDiff;
pub use nodes::parse_config_epochs;
pub use parse::{parse_cluster_shards, parse_cluster_shards_tls, parse_cluster_slots};

/// A node's address as the cluster announces it (an IP or a host name) and its port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// IP address or host name, IPv6 without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Addr {
    /// An address from its parts.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Addr {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port` or `[ipv6]:port`. An unbracketed IPv6 address (`::1:6379`, as MOVED
    /// replies write it) is split at its last colon.
    pub fn parse(s: &str) -> Result<Addr> {
        let bad = |why: &str| Error::invalid(format!("invalid address {s:?}: {why}"));
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("expected [host]:port"))?;
            (host, port)
        } else {
            s.rsplit_once(':')
                .ok_or_else(|| bad("expected host:port"))?
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        // No host name or IP holds these; accepting them made addresses that do not
        // round-trip through Display (found by the `options` fuzz target).
        if host
            .chars()
            .any(|c| c == '[' || c == ']' || c.is_whitespace() || c.is_control())
        {
            return Err(bad("brackets, spaces or control characters in the host"));
        }
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(bad("port must be a number from 1 to 65535")),
        };
        Ok(Addr::new(host, port))
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Whether a node serves writes for its shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Serves reads and writes for the shard's slots.
    Primary,
    /// Copies a primary; may serve reads.
    Replica,
}

/// A node's health as the cluster reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeHealth {
    /// Reachable and serving.
    Online,
    /// Flagged as failed by the cluster (also used for health values this client does not
    /// know, so routing avoids nodes in states it cannot judge).
    Failed,
    /// Loading its dataset (a replica after a full sync): not ready for reads.
    Loading,
}

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Node {
    /// The 40-character node id (empty when unknown, e.g. a node learned from MOVED).
    pub id: String,
    /// Where to connect.
    pub addr: Addr,
    /// Primary or replica.
    pub role: Role,
    /// Health as reported by the cluster.
    pub health: NodeHealth,
    /// Replication offset (0 when not reported).
    pub replication_offset: u64,
    /// The node's `configEpoch` (0 when unknown): a slot claimed by two views belongs to the
    /// primary with the higher epoch, as in Redis itself.
    pub config_epoch: u64,
}

impl Node {
    /// A node that is online with offset 0.
    pub fn new(id: impl Into<String>, addr: Addr, role: Role) -> Self {
        Node {
            id: id.into(),
            addr,
            role,
            health: NodeHealth::Online,
            replication_offset: 0,
            config_epoch: 0,
        }
    }
}

/// A primary, its replicas, and the slots they serve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Shard {
    /// Inclusive slot ranges, sorted (a shard may serve none, e.g. a primary just added).
    pub slots: Vec<(u16, u16)>,
    /// The node taking writes.
    pub primary: Node,
    /// Its replicas.
    pub replicas: Vec<Node>,
}

impl Shard {
    /// A shard from its parts; ranges are sorted and merged by [`Topology::from_shards`].
    pub fn new(slots: Vec<(u16, u16)>, primary: Node, replicas: Vec<Node>) -> Self {
        Shard {
            slots,
            primary,
            replicas,
        }
    }
}

/// Marks an unassigned slot in the slot table.
const UNASSIGNED: u16 = u16::MAX;

/// A validated cluster topology: its shards and, for every slot, the shard serving it.
#[derive(Clone)]
pub struct Topology {
    shards: Vec<Shard>,
    /// `SLOT_COUNT` entries: the index into `shards`, or `UNASSIGNED`.
    slots: Box<[u16]>,
    covered: usize,
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The slot table is derived from the shards; printing 16384 entries helps no one.
        f.debug_struct("Topology")
            .field("shards", &self.shards)
            .field("covered_slots", &self.covered)
            .finish()
    }
}

fn topology_error(message: String) -> Error {
    Error::new(ErrorKind::Topology, Outcome::NotRun, message)
}

impl Topology {
    /// A topology with no shards: what a client knows before its first discovery.
    pub fn empty() -> Topology {
        Topology {
            shards: Vec::new(),
            slots: vec![UNASSIGNED; usize::from(SLOT_COUNT)].into_boxed_slice(),
            covered: 0,
        }
    }

    /// Builds the slot table. Each shard's ranges are sorted and merged; a range outside
    /// `0..16384` or with start > end, or a slot claimed by two shards, is a Topology error.
    /// Slots no shard claims are allowed (a cluster being resharded or partly down).
    pub fn from_shards(mut shards: Vec<Shard>) -> Result<Topology> {
        if shards.len() >= usize::from(UNASSIGNED) {
            return Err(topology_error(format!(
                "too many shards ({})",
                shards.len()
            )));
        }
        for shard in shards.iter_mut() {
            for &(start, end) in &shard.slots {
                if start > end || end >= SLOT_COUNT {
                    return Err(topology_error(format!(
                        "invalid slot range {start}-{end} for primary {}",
                        shard.primary.addr
                    )));
                }
            }
            normalize_ranges(&mut shard.slots);
        }
        let mut slots = vec![UNASSIGNED; usize::from(SLOT_COUNT)].into_boxed_slice();
        let mut covered = 0;
        for (index, shard) in shards.iter().enumerate() {
            for &(start, end) in &shard.slots {
                for slot in start..=end {
                    let entry = &mut slots[usize::from(slot)];
                    if *entry != UNASSIGNED {
                        return Err(topology_error(format!(
                            "slot {slot} claimed by two shards (primaries {} and {})",
                            shards[usize::from(*entry)].primary.addr,
                            shard.primary.addr
                        )));
                    }
                    *entry = index as u16;
                    covered += 1;
                }
            }
        }
        Ok(Topology {
            shards,
            slots,
            covered,
        })
    }

    /// All shards, including ones serving no slot.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The shard serving `slot`, if any.
    pub fn shard_for_slot(&self, slot: u16) -> Option<&Shard> {
        self.shard_index_for_slot(slot).map(|i| &self.shards[i])
    }

    /// The index into [`Topology::shards`] of the shard serving `slot`, if any.
    pub fn shard_index_for_slot(&self, slot: u16) -> Option<usize> {
        match *self.slots.get(usize::from(slot))? {
            UNASSIGNED => None,
            index => Some(usize::from(index)),
        }
    }

    /// The primaries that serve slots. A shard without slots is left out: after a failover
    /// `CLUSTER SHARDS` still lists the failed old primary as the primary of an empty shard,
    /// and nothing (fan-out, health checks, "is it still a primary?") must count it.
    pub fn primaries(&self) -> impl Iterator<Item = &Node> {
        self.shards
            .iter()
            .filter(|s| !s.slots.is_empty())
            .map(|s| &s.primary)
    }

    /// Every node, primaries and replicas.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.shards
            .iter()
            .flat_map(|s| std::iter::once(&s.primary).chain(&s.replicas))
    }

    /// How many slots some shard serves (16384 when the cluster is fully covered).
    pub fn covered_slots(&self) -> usize {
        self.covered
    }

    /// True when both map every slot to the same primary address and the shards serving
    /// slots have the same replica addresses (in any order): a refresh that returns such a
    /// topology changed nothing routing depends on. Node ids, health, offsets and shards
    /// serving no slot are not compared.
    pub fn same_routing(&self, other: &Topology) -> bool {
        // Shard pairs already found equal, so each pair is compared once, not per slot.
        let mut matched: Vec<Option<usize>> = vec![None; self.shards.len()];
        for slot in 0..SLOT_COUNT {
            match (
                self.shard_index_for_slot(slot),
                other.shard_index_for_slot(slot),
            ) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    if matched[a] == Some(b) {
                        continue;
                    }
                    if !same_shard_addrs(&self.shards[a], &other.shards[b]) {
                        return false;
                    }
                    matched[a] = Some(b);
                }
                _ => return false,
            }
        }
        true
    }

    /// A copy in which `slot` is served by the primary at `addr` (MOVED handling): by the
    /// shard whose primary is at `addr`, or by a new shard with a primary at `addr` (empty id,
    /// online) when there is none. The old owner's ranges are split as needed. A slot out of
    /// range leaves the copy unchanged.
    pub fn with_slot_moved(&self, slot: u16, addr: &Addr) -> Topology {
        let mut next = self.clone();
        if slot >= SLOT_COUNT {
            return next;
        }
        // MOVED to a replica of the slot's own shard is a failover: the replica now serves
        // every slot of the shard, so switch them all at once rather than one MOVED at a time.
        if let Some(i) = next.shard_index_for_slot(slot) {
            let shard = &mut next.shards[i];
            if let Some(r) = shard.replicas.iter().position(|n| n.addr == *addr) {
                let mut promoted = shard.replicas.remove(r);
                promoted.role = Role::Primary;
                let mut demoted = std::mem::replace(&mut shard.primary, promoted);
                demoted.role = Role::Replica;
                shard.replicas.push(demoted);
                return next;
            }
        }
        let target = match next.shards.iter().position(|s| s.primary.addr == *addr) {
            Some(i) => i,
            None => {
                if next.shards.len() >= usize::from(UNASSIGNED) - 1 {
                    return next;
                }
                let primary = Node::new("", addr.clone(), Role::Primary);
                next.shards
                    .push(Shard::new(Vec::new(), primary, Vec::new()));
                next.shards.len() - 1
            }
        };
        let old = next.shard_index_for_slot(slot);
        if old == Some(target) {
            return next;
        }
        match old {
            Some(i) => remove_slot(&mut next.shards[i].slots, slot),
            None => next.covered += 1,
        }
        add_slot(&mut next.shards[target].slots, slot);
        next.slots[usize::from(slot)] = target as u16;
        next
    }
}

fn same_shard_addrs(a: &Shard, b: &Shard) -> bool {
    if a.primary.addr != b.primary.addr || a.replicas.len() != b.replicas.len() {
        return false;
    }
    let mut ra: Vec<&Addr> = a.replicas.iter().map(|n| &n.addr).collect();
    let mut rb: Vec<&Addr> = b.replicas.iter().map(|n| &n.addr).collect();
    ra.sort();
    rb.sort();
    ra == rb
}

/// Sorts inclusive ranges and merges overlapping or adjacent ones.
pub(crate) fn normalize_ranges(ranges: &mut Vec<(u16, u16)>) {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges.iter() {
        match out.last_mut() {
            Some(last) if u32::from(start) <= u32::from(last.1) + 1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    *ranges = out;
}

fn remove_slot(ranges: &mut Vec<(u16, u16)>, slot: u16) {
    let Some(i) = ranges.iter().position(|&(s, e)| s <= slot && slot <= e) else {
        return;
    };
    let (start, end) = ranges[i];
    match (start == slot, end == slot) {
        (true, true) => {
            ranges.remove(i);
        }
        (true, false) => ranges[i].0 = slot + 1,
        (false, true) => ranges[i].1 = slot - 1,
        (false, false) => {
            ranges[i].1 = slot - 1;
            ranges.insert(i + 1, (slot + 1, end));
        }
    }
}

fn add_slot(ranges: &mut Vec<(u16, u16)>, slot: u16) {
    ranges.push((slot, slot));
    normalize_ranges(ranges);
}
