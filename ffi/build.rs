//! Two jobs: give libslotwise.so its SONAME (the ABI major version), and generate the C
//! header from this crate with the pinned cbindgen into `$OUT_DIR/slotwise.h`. The committed
//! `include/slotwise.h` is a copy of that file: `src/tests.rs` fails when they differ
//! (`make header` refreshes the copy), so the header can never drift from the code.

use std::env;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("version");

    // The SONAME carries the ABI major version, so an incompatible libslotwise (next major)
    // can be installed beside this one.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libslotwise.so.{major}");
    }

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");

    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    // The version macros come from Cargo.toml, so they cannot disagree with it.
    let number = |s: &str| s.parse::<u32>().expect("numeric version part");
    let combined = number(&major) * 1_000_000 + number(&minor) * 1_000 + number(&patch);
    config.after_includes = Some(format!(
        "\n/** The version of this header: MAJOR.MINOR.PATCH. */\n\
         #define SLOTWISE_VERSION \"{major}.{minor}.{patch}\"\n\
         #define SLOTWISE_VERSION_MAJOR {major}\n\
         #define SLOTWISE_VERSION_MINOR {minor}\n\
         #define SLOTWISE_VERSION_PATCH {patch}\n\
         /** MAJOR * 1000000 + MINOR * 1000 + PATCH; compare with slotwise_version_number(). */\n\
         #define SLOTWISE_VERSION_NUMBER {combined}\n"
    ));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("slotwise.h");
    cbindgen::Builder::new()
        .with_src(dir.join("src").join("lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate slotwise.h")
        .write_to_file(out);
}
