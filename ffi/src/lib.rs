//! The stable C ABI of slotwise: `libslotwise.so` / `libslotwise.a` and `include/slotwise.h`
//! (generated from this crate by the pinned cbindgen in `build.rs`). Glue only: every
//! function converts its arguments, calls the core (through `slotwise::blocking` and its
//! runtime), and converts the result; the behaviour lives in `core/`.
//!
//! One module per concept: handles and arguments (`args`), the panic boundary (`panic`),
//! statuses (`status`) and the thread's last error (`error`), then `options`, `client`,
//! `async_command`, `pipeline`, `transaction`, `reply`, `events`, `pubsub`, `health`,
//! `version`.
//!
//! The safety contract of every `unsafe extern "C"` function is the header's: pointers are
//! NULL (reported as `SLOTWISE_STATUS_NULL_ARGUMENT` where not allowed) or valid for what
//! their documentation says, handles are live, and a (pointer, length) pair covers readable
//! memory. It is written once, in the header's preamble, rather than on every function.

// An FFI crate is unsafe by nature: every use is confined to pointer checks in `args` and to
// the calls into C callbacks, each with a SAFETY comment.
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]
// The C names (`slotwise_client`, `slotwise_status`) are the API; they read as C, not Rust.
#![allow(non_camel_case_types)]

// cbindgen writes functions in the order it meets them, so the modules are declared in the
// order the header should read (blank lines keep rustfmt from sorting them).
mod version;

mod status;

mod error;

mod options;

mod tls;

mod client;

mod async_command;

mod pipeline;

mod transaction;

mod reply;

mod events;

mod pubsub;

mod health;

mod args;
mod panic;

#[cfg(test)]
mod tests;
