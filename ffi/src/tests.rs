//! Checks of the C surface that need no server: the committed header is exactly what the
//! pinned cbindgen generates and its version macros match Cargo.toml; statuses keep the core's
//! codes; the panic boundary and the NULL checks hold. The C programs in `tests/c/` cover the
//! rest against real servers.

use std::ffi::CStr;
use std::path::PathBuf;
use std::ptr;

use slotwise::ErrorKind;

use crate::client::{
    slotwise_client, slotwise_client_cluster, slotwise_client_free, slotwise_command,
};
use crate::error::{self, slotwise_last_error_may_have_run};
use crate::options::{
    slotwise_options, slotwise_options_add_seed, slotwise_options_free, slotwise_options_new,
    slotwise_options_set_read_from,
};
use crate::panic::call;
use crate::reply::{slotwise_reply, slotwise_reply_free};
use crate::status::{slotwise_status, slotwise_status_name};
use crate::version::{slotwise_version, slotwise_version_number};

/// What build.rs generated for this build.
const FRESH: &str = include_str!(concat!(env!("OUT_DIR"), "/slotwise.h"));

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ has a parent")
        .to_path_buf()
}

/// `SLOTWISE_BLESS_HEADER=1` (what `make header` sets) rewrites the committed copy instead.
#[test]
fn committed_header_matches_a_fresh_generation() {
    let path = repo_root().join("include").join("slotwise.h");
    if std::env::var_os("SLOTWISE_BLESS_HEADER").is_some() {
        std::fs::write(&path, FRESH).expect("write include/slotwise.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != FRESH {
        let line = committed
            .lines()
            .zip(FRESH.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "include/slotwise.h differs from what cbindgen generates (first difference at {line}); \
             run `make header` and commit the result"
        );
    }
}

/// The version in the workspace's Cargo.toml, read as text (not through Cargo's env vars, so
/// this would also catch a crate that stopped inheriting the workspace version).
fn cargo_toml_version() -> (u32, u32, u32) {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package] in Cargo.toml");
    let version = section
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version = \"...\" under [workspace.package]");
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().expect("numeric version"))
        .collect();
    assert_eq!(parts.len(), 3, "version {version} is MAJOR.MINOR.PATCH");
    (parts[0], parts[1], parts[2])
}

fn header_define(header: &str, name: &str) -> String {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("{name} is not defined in the header"))
        .trim()
        .to_string()
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let path = repo_root().join("include").join("slotwise.h");
    let committed = std::fs::read_to_string(path).expect("include/slotwise.h");
    let (major, minor, patch) = cargo_toml_version();
    for header in [committed.as_str(), FRESH] {
        assert_eq!(
            header_define(header, "SLOTWISE_VERSION_MAJOR"),
            major.to_string()
        );
        assert_eq!(
            header_define(header, "SLOTWISE_VERSION_MINOR"),
            minor.to_string()
        );
        assert_eq!(
            header_define(header, "SLOTWISE_VERSION_PATCH"),
            patch.to_string()
        );
        assert_eq!(
            header_define(header, "SLOTWISE_VERSION"),
            format!("\"{major}.{minor}.{patch}\"")
        );
        let number = major * 1_000_000 + minor * 1_000 + patch;
        assert_eq!(
            header_define(header, "SLOTWISE_VERSION_NUMBER"),
            number.to_string()
        );
        assert_eq!(slotwise_version_number(), number);
    }
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(slotwise_version()) };
    assert_eq!(v.to_str().unwrap(), format!("{major}.{minor}.{patch}"));
}

#[test]
fn statuses_keep_the_core_codes_and_names() {
    let kinds = [
        ErrorKind::Connect,
        ErrorKind::Io,
        ErrorKind::Timeout,
        ErrorKind::Protocol,
        ErrorKind::Server,
        ErrorKind::ClusterDown,
        ErrorKind::TryAgain,
        ErrorKind::CrossSlot,
        ErrorKind::ReadOnly,
        ErrorKind::Loading,
        ErrorKind::MasterDown,
        ErrorKind::Auth,
        ErrorKind::InvalidArgument,
        ErrorKind::NoRoute,
        ErrorKind::TooManyRedirects,
        ErrorKind::Closed,
        ErrorKind::Topology,
        ErrorKind::Busy,
        ErrorKind::ExecAbort,
    ];
    for k in kinds {
        let s = slotwise_status::from_kind(k);
        assert_ne!(s, slotwise_status::Unknown, "{k:?} has a status");
        assert_eq!(s as u32, k.code(), "{k:?}");
        assert_eq!(s.name().to_str().unwrap(), k.name(), "{k:?}");
    }
    // Numbers are unique, names too, and every status is in ALL (its name is found by number).
    let all = slotwise_status::ALL;
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(*a as u32, *b as u32);
            assert_ne!(a.name(), b.name());
        }
        // SAFETY: static NUL-terminated strings.
        let name = unsafe { CStr::from_ptr(slotwise_status_name(*a as u32)) };
        assert_eq!(name, a.name());
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(slotwise_status_name(424_242)) };
    assert_eq!(unknown, c"UNKNOWN");
}

fn last_message() -> String {
    let mut buf = [0u8; 256];
    let mut n = 0usize;
    // SAFETY: a valid buffer and length.
    unsafe { error::slotwise_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut n) };
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn a_panic_becomes_a_status_and_a_message() {
    let s = call(|| panic!("boom {}", 42));
    assert_eq!(s, slotwise_status::Panic);
    assert!(last_message().contains("boom 42"), "{}", last_message());
    assert_eq!(call(|| Ok(())), slotwise_status::Ok);
    assert_eq!(last_message(), "");
}

#[test]
fn nulls_and_bad_arguments_give_statuses() {
    let mut reply: *mut slotwise_reply = ptr::null_mut();
    // SAFETY: every call below is given NULLs or valid pointers.
    unsafe {
        assert_eq!(
            slotwise_command(ptr::null(), 0, ptr::null(), ptr::null(), &mut reply),
            slotwise_status::NullArgument
        );
        assert!(last_message().contains("client"), "{}", last_message());
        slotwise_reply_free(ptr::null_mut());
        slotwise_options_free(ptr::null_mut());
        slotwise_client_free(ptr::null_mut());

        let mut opts: *mut slotwise_options = ptr::null_mut();
        assert_eq!(slotwise_options_new(&mut opts), slotwise_status::Ok);
        let bad = b"no-port-here";
        assert_eq!(
            slotwise_options_add_seed(opts, bad.as_ptr(), bad.len()),
            slotwise_status::InvalidArgument
        );
        let not_utf8 = [0xffu8, 0xfe, b':', b'1'];
        assert_eq!(
            slotwise_options_add_seed(opts, not_utf8.as_ptr(), not_utf8.len()),
            slotwise_status::InvalidUtf8
        );
        assert_eq!(
            slotwise_options_add_seed(opts, ptr::null(), 5),
            slotwise_status::NullArgument
        );
        assert_eq!(
            slotwise_options_set_read_from(opts, 77),
            slotwise_status::InvalidArgument
        );
        // No seeds: the constructor says so, and writes NULL.
        let mut client = ptr::dangling_mut::<slotwise_client>();
        assert_eq!(
            slotwise_client_cluster(opts, &mut client),
            slotwise_status::InvalidArgument
        );
        assert!(client.is_null());
        slotwise_options_free(opts);
    }
}

#[test]
fn last_error_message_truncates_at_a_character_boundary() {
    error::set(error::Failure::new(slotwise_status::Server, "héllo"));
    let mut buf = [0x55u8; 3];
    let mut n = 99usize;
    // SAFETY: a valid buffer and length.
    let s = unsafe { error::slotwise_last_error_message(buf.as_mut_ptr().cast(), 3, &mut n) };
    assert_eq!(s, slotwise_status::BufferTooSmall);
    // "h" + the first byte of "é" would split it: only "h" and the NUL.
    assert_eq!((n, buf[0], buf[1]), (1, b'h', 0));
    // SAFETY: NULL with length 0 is allowed.
    let s = unsafe { error::slotwise_last_error_message(ptr::null_mut(), 0, ptr::null_mut()) };
    assert_eq!(s, slotwise_status::BufferTooSmall);
    assert!(!slotwise_last_error_may_have_run());
}
