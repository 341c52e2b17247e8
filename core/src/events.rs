//! What the client tells the application about the deployment as it follows it.

use crate::topology::{Addr, TopologyDiff};

/// One thing that happened. Receive them with [`crate::Client::events`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new topology is in use.
    TopologyChanged {
        /// The new [`crate::Client::topology_version`].
        version: u64,
        /// What changed.
        diff: TopologyDiff,
    },
    /// A node was marked failed: routing avoids it until the probe sees it answer.
    NodeFailed {
        /// The node.
        addr: Addr,
        /// Why (the error that marked it).
        reason: String,
        /// Refused, reset or unresolvable, as opposed to slow (timeouts).
        permanent: bool,
    },
    /// A marked node answered the probe and is used again.
    NodeRecovered {
        /// The node.
        addr: Addr,
    },
    /// A sentinel stopped answering (Sentinel mode); the others are still followed.
    SentinelLost {
        /// The sentinel.
        addr: Addr,
        /// Why.
        reason: String,
    },
    /// A lost sentinel answers again.
    SentinelRegained {
        /// The sentinel.
        addr: Addr,
    },
    /// A shard's primary changed to one of its former replicas.
    Failover {
        /// The former primary.
        old_primary: Addr,
        /// The new primary.
        new_primary: Addr,
    },
}
