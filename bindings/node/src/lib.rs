//! `slotwise` for Node.js: the compiled half of the npm package. Each file converts one
//! concern between JavaScript and the core; no client logic lives here (STYLE.md rule 1).
//! The JavaScript half (`lib/`) writes the command methods once over `execute`, validates
//! options and builds the error classes.
//!
//! Every core future runs on [`slotwise::blocking::runtime`], the process's one tokio runtime
//! (core spawns its background tasks on the runtime it runs on). Results come back to the JS
//! thread through one threadsafe function per client (see `client.rs`).

// napi-derive leaves its exports out of `cfg(test)` builds, which `clippy --all-targets` makes:
// everything reached only from JavaScript then looks unused.
#![cfg_attr(test, allow(dead_code))]

mod client;
mod convert;
mod errors;
mod events;
mod options;
mod pipeline;
mod pubsub;
mod topology;
mod transaction;
mod url;

use napi_derive::napi;

/// The version of the native addon (the workspace version).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
