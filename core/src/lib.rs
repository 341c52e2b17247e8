//! slotwise: a Redis client core for Cluster, Sentinel and single-node deployments whose one
//! promise is that an application never stays broken because the client's picture of the
//! deployment is stale.

pub mod cmd;
pub mod error;
pub mod resp;
pub mod slot;
pub mod topology;

pub use cmd::{cmd, Cmd, ToArg};
pub use error::{Error, ErrorKind, Outcome, Result};
pub use resp::Value;
