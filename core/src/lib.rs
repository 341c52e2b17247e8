//! slotwise: a Redis client core for Cluster, Sentinel and single-node deployments whose one
//! promise is that an application never stays broken because the client's picture of the
//! deployment is stale.
//!
//! Start with [`Client::cluster`] or [`Client::standalone`]; build commands with [`cmd`].

pub mod blocking;
mod client;
mod cluster;
pub mod cmd;
mod config;
mod conn;
pub mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod metrics;
mod pool;
pub mod pubsub;
mod refresh;
mod remap;
pub mod resp;
mod retry;
mod script;
mod sentinel;
pub mod slot;
mod standalone;
mod tls;
pub mod topology;
mod url;

pub use client::{Client, Pipeline};
pub use cluster::{HealthReport, NodeReport, Scan, Transaction};
pub use cmd::{cmd, Cmd, ToArg};
pub use config::{Options, Protocol, ReadFrom};
pub use error::{Error, ErrorKind, Outcome, Result};
pub use events::Event;
pub use metrics::{MetricsSnapshot, Trigger};
pub use pubsub::{PubSub, PubSubItem};
pub use remap::{AddressRemap, RemapFn, ResolverFn};
pub use resp::Value;
pub use script::Script;
pub use tls::TlsOptions;
pub use topology::{Addr, Topology, TopologyDiff};
pub use url::{ConnectionUrl, UrlMode};
