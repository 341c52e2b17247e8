//! A single node behind the same engine: a fixed topology of one shard owning every slot.

use crate::error::Result;
use crate::topology::{Addr, Node, Role, Shard, Topology};

/// The one-shard topology of a standalone server at `addr`.
pub(crate) fn topology(addr: &Addr) -> Result<Topology> {
    let primary = Node::new(String::new(), addr.clone(), Role::Primary);
    Topology::from_shards(vec![Shard::new(
        vec![(0, crate::slot::SLOT_COUNT - 1)],
        primary,
        Vec::new(),
    )])
}
