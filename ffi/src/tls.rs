//! TLS settings of `slotwise_options`. Any of them turns TLS on for every connection (data
//! nodes and sentinels); files are read, and problems reported, by the client constructor.

use slotwise::TlsOptions;

use crate::args;
use crate::options::{slotwise_options, with};
use crate::status::slotwise_status;

/// Runs `f` on the options' TLS settings, creating them (TLS on, system CA roots).
unsafe fn with_tls(
    options: *mut slotwise_options,
    f: impl FnOnce(&mut TlsOptions) -> Result<(), crate::error::Failure>,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe { with(options, |o| f(o.options.tls.get_or_insert_default())) }
}

/// Turns TLS on, verifying servers against the system's CA roots unless
/// `slotwise_options_set_tls_ca_file` names other CAs.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_enable_tls(
    options: *mut slotwise_options,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { with_tls(options, |_| Ok(())) }
}

/// Turns TLS on and trusts the CA certificates in the PEM file at `path` (`path_len` bytes,
/// not NUL-terminated, copied).
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_tls_ca_file(
    options: *mut slotwise_options,
    path: *const u8,
    path_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with_tls(options, |t| {
            t.ca_file = Some(args::text(path, path_len, "path")?.into());
            Ok(())
        })
    }
}

/// Turns TLS on and presents the PEM certificate chain at `cert_path` with the PEM private
/// key at `key_path` to servers that ask for a client certificate (paths copied).
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_tls_client_cert(
    options: *mut slotwise_options,
    cert_path: *const u8,
    cert_path_len: usize,
    key_path: *const u8,
    key_path_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with_tls(options, |t| {
            t.client_cert_file = Some(args::text(cert_path, cert_path_len, "cert_path")?.into());
            t.client_key_file = Some(args::text(key_path, key_path_len, "key_path")?.into());
            Ok(())
        })
    }
}

/// Turns TLS on and checks servers' certificates against `name` instead of the host each
/// node is reached by.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_tls_server_name(
    options: *mut slotwise_options,
    name: *const u8,
    name_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with_tls(options, |t| {
            t.server_name = Some(args::text(name, name_len, "name")?.to_owned());
            Ok(())
        })
    }
}

/// Turns TLS on and, when `on`, accepts ANY server certificate. Only for tests: anyone on
/// the path can then read and change the traffic.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_tls_insecure_skip_verify(
    options: *mut slotwise_options,
    on: bool,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with_tls(options, |t| {
            t.insecure_skip_verify = on;
            Ok(())
        })
    }
}
