//! The library's version at run time, to compare with the header's `SLOTWISE_VERSION*` macros
//! (which `build.rs` writes from the same Cargo.toml).

use std::ffi::c_char;

use crate::panic::boundary;

/// The library's version, `"MAJOR.MINOR.PATCH"`, NUL-terminated, in static storage (never
/// free it). Compare with `SLOTWISE_VERSION` to detect a header/library mismatch.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn slotwise_version() -> *const c_char {
    boundary(|| {
        concat!(env!("CARGO_PKG_VERSION"), "\0")
            .as_ptr()
            .cast::<c_char>()
    })
}

/// The library's version as one number, `MAJOR * 1000000 + MINOR * 1000 + PATCH`: the value
/// of `SLOTWISE_VERSION_NUMBER` in the header it was built with. Thread-safe.
#[no_mangle]
pub extern "C" fn slotwise_version_number() -> u32 {
    boundary(version_number)
}

pub(crate) fn version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}
