//! `slotwise_options`: the builder every client constructor reads (the core's `Options` plus
//! the seed addresses and the Sentinel service name), and the C callbacks wrapped into the
//! core's remap and resolver closures.

use std::ffi::c_void;
use std::time::Duration;

use slotwise::{Addr, Options, Protocol, ReadFrom};

use crate::args::{self, Handle, UserData};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::status::slotwise_status;

/// Options for a client: seed addresses (cluster nodes, the standalone server, or the
/// sentinels), the Sentinel service name, credentials, timeouts, read policy, address
/// remapping and seed resolution. Create with `slotwise_options_new`, free with
/// `slotwise_options_free`. A constructor copies what it needs: the options may be changed,
/// reused for another client, or freed right after it returns.
///
/// Thread-safety: not synchronized. Use one from one thread at a time (it may move between
/// threads); constructors only read it, so several may read the same options at once.
#[derive(Debug)]
pub struct slotwise_options {
    _private: [u8; 0],
}

pub(crate) struct OptionsInner {
    pub seeds: Vec<String>,
    pub service_name: Option<String>,
    pub options: Options,
}

impl Handle for slotwise_options {
    type Inner = OptionsInner;
}

/// Where read-only commands go (cluster mode), for `slotwise_options_set_read_from`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_read_from {
    /// Every command goes to the primary (the default).
    Primary = 0,
    /// Reads go to a healthy replica of the shard, the primary when none can serve.
    PreferReplica = 1,
    /// Reads rotate over the shard's healthy replicas, the primary when none can serve.
    ReplicasRoundRobin = 2,
    /// Reads go to the shard's node with the lowest measured round trip.
    LowestLatency = 3,
}

/// A list of addresses that a callback fills with `slotwise_address_list_push`. slotwise owns
/// it; it is valid only during the callback it is passed to.
#[derive(Debug)]
pub struct slotwise_address_list {
    _private: [u8; 0],
}

impl Handle for slotwise_address_list {
    type Inner = Vec<Addr>;
}

/// Rewrites an address the deployment announces (in topology replies, MOVED/ASK redirects,
/// Sentinel replies) before slotwise connects to it: push the address to use into `out` with
/// `slotwise_address_list_push`, or push nothing to keep `announced` (`host:port` bytes, not
/// NUL-terminated, valid during the call). Only the first address pushed counts.
///
/// Called on slotwise's runtime threads, possibly from several at once, each time a
/// connection is opened: it must be thread-safe, fast, must not block, and must not call
/// blocking slotwise functions (they fail there with `SLOTWISE_STATUS_INVALID_ARGUMENT`).
pub type slotwise_remap_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        announced: *const u8,
        announced_len: usize,
        out: *mut slotwise_address_list,
    ),
>;

/// Maps a seed address (`host:port` bytes, not NUL-terminated, valid during the call) to the
/// addresses to try for it, pushed into `out` with `slotwise_address_list_push`; re-run every
/// time a topology refresh falls back to that seed, so it may return new addresses after a
/// redeploy. Return false when resolution failed (the failure is reported with the other
/// sources' errors when no source answers).
///
/// Called on slotwise's runtime threads, possibly from several at once: it must be
/// thread-safe, should be quick (it delays that refresh), and must not call blocking slotwise
/// functions.
pub type slotwise_resolver_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        seed: *const u8,
        seed_len: usize,
        out: *mut slotwise_address_list,
    ) -> bool,
>;

/// Creates options with the defaults (request timeout 5 s, connect timeout 1 s, RESP3, reads
/// from primaries, no auth) and no seeds; writes them to `*out`. Free with
/// `slotwise_options_free`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_new(out: *mut *mut slotwise_options) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let out = unsafe { args::out(out, "out", std::ptr::null_mut()) }?;
        out.write(args::into_raw::<slotwise_options>(OptionsInner {
            seeds: Vec::new(),
            service_name: None,
            options: Options::default(),
        }));
        Ok(())
    })
}

/// Frees options. NULL is a no-op. Clients built from them are not affected.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_free(options: *mut slotwise_options) {
    // SAFETY: header contract.
    boundary(|| unsafe { args::free(options) })
}

/// Runs `f` on the options behind `options`.
pub(crate) unsafe fn with(
    options: *mut slotwise_options,
    f: impl FnOnce(&mut OptionsInner) -> Result<(), Failure>,
) -> slotwise_status {
    call(|| {
        // SAFETY: the caller's (C's) contract.
        f(unsafe { args::get_mut(options, "options") }?)
    })
}

/// Adds a seed address (`host:port` or `[ipv6]:port`): a cluster node, the standalone server
/// (exactly one), or a sentinel. Checked now: `SLOTWISE_STATUS_INVALID_ARGUMENT` for an
/// address that does not parse.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_add_seed(
    options: *mut slotwise_options,
    addr: *const u8,
    addr_len: usize,
) -> slotwise_status {
    // SAFETY: header contract (also for the closure's reads of `addr`).
    unsafe {
        with(options, |o| {
            let a = args::addr(addr, addr_len, "addr")?;
            o.seeds.push(a.to_string());
            Ok(())
        })
    }
}

/// Sets the master name the sentinels know (Sentinel mode).
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_service_name(
    options: *mut slotwise_options,
    name: *const u8,
    name_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.service_name = Some(args::text(name, name_len, "name")?.to_owned());
            Ok(())
        })
    }
}

/// Reads an optional user name and a password.
pub(crate) unsafe fn credentials(
    user: *const u8,
    user_len: usize,
    password: *const u8,
    password_len: usize,
) -> Result<(Option<String>, String), Failure> {
    // SAFETY: the caller's contract.
    let user = match user.is_null() {
        true => None,
        false => Some(unsafe { args::text(user, user_len, "user") }?.to_owned()),
    };
    // SAFETY: the caller's contract.
    let password = unsafe { args::text(password, password_len, "password") }?.to_owned();
    Ok((user, password))
}

/// Sets the ACL user (`user` NULL: the `default` user) and password for the data nodes. The
/// password is copied and never appears in messages.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_auth(
    options: *mut slotwise_options,
    user: *const u8,
    user_len: usize,
    password: *const u8,
    password_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            let (u, p) = credentials(user, user_len, password, password_len)?;
            o.options.username = u;
            o.options.password = Some(p);
            Ok(())
        })
    }
}

/// Sets the ACL user (`user` NULL: `default`) and password for the sentinels, which often
/// differ from the data nodes'.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_sentinel_auth(
    options: *mut slotwise_options,
    user: *const u8,
    user_len: usize,
    password: *const u8,
    password_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            let (u, p) = credentials(user, user_len, password, password_len)?;
            o.options.sentinel_username = u;
            o.options.sentinel_password = Some(p);
            Ok(())
        })
    }
}

/// Sets the `CLIENT SETNAME` of every connection.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_client_name(
    options: *mut slotwise_options,
    name: *const u8,
    name_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.options.client_name = Some(args::text(name, name_len, "name")?.to_owned());
            Ok(())
        })
    }
}

/// Sets the database number (standalone and Sentinel; Redis Cluster has only database 0).
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_db(
    options: *mut slotwise_options,
    db: u32,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.options.db = db;
            Ok(())
        })
    }
}

/// Sets the RESP version: 3 (the default; falls back to 2 on servers that refuse `HELLO 3`)
/// or 2. `SLOTWISE_STATUS_INVALID_ARGUMENT` for anything else.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_protocol(
    options: *mut slotwise_options,
    resp_version: u32,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.options.protocol = match resp_version {
                2 => Protocol::Resp2,
                3 => Protocol::Resp3,
                v => {
                    return Err(Failure::invalid(format!(
                        "protocol must be 2 or 3, not {v}"
                    )))
                }
            };
            Ok(())
        })
    }
}

/// Sets where read-only commands go: one of the `slotwise_read_from` values (passed as a
/// `uint32_t` so that any number is safe: others give `SLOTWISE_STATUS_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_read_from(
    options: *mut slotwise_options,
    read_from: u32,
) -> slotwise_status {
    use slotwise_read_from as R;
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.options.read_from = match read_from {
                x if x == R::Primary as u32 => ReadFrom::Primary,
                x if x == R::PreferReplica as u32 => ReadFrom::PreferReplica,
                x if x == R::ReplicasRoundRobin as u32 => ReadFrom::ReplicasRoundRobin,
                x if x == R::LowestLatency as u32 => ReadFrom::LowestLatency,
                x => return Err(Failure::invalid(format!("unknown read_from value {x}"))),
            };
            Ok(())
        })
    }
}

/// Resend writes whose outcome is unknown (the connection broke after the write). Off by
/// default: it can apply a write twice.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_retry_unsafe_writes(
    options: *mut slotwise_options,
    on: bool,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            o.options.retry_unsafe_writes = on;
            Ok(())
        })
    }
}

/// Sets one duration option from milliseconds. Values are checked by the constructor (0 gives
/// `SLOTWISE_STATUS_INVALID_ARGUMENT` there, naming the option), not here: the core decides.
unsafe fn set_ms(
    options: *mut slotwise_options,
    ms: u64,
    field: impl FnOnce(&mut Options) -> &mut Duration,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        with(options, |o| {
            *field(&mut o.options) = Duration::from_millis(ms);
            Ok(())
        })
    }
}

/// Sets the whole deadline of one request, retries and waits for a failover included
/// (default 5000 ms). Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_request_timeout_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.request_timeout) }
}

/// Sets the deadline for opening one connection, handshake included (default 1000 ms).
/// Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_connect_timeout_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.connect_timeout) }
}

/// Sets the deadline of one topology query to one node (default 1000 ms). Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_topology_query_timeout_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.topology_query_timeout) }
}

/// Sets the period of the background topology refresh (cluster mode; default 30000 ms).
/// Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_refresh_interval_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.refresh_interval) }
}

/// Sets how often failed nodes are probed and round trips measured (default 200 ms).
/// Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_probe_interval_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.probe_interval) }
}

/// Sets the pub/sub heartbeat (default 5000 ms; 0 turns it off): a pub/sub connection that
/// received nothing this long is sent a PING, and one that stays silent as long again is
/// taken for dead (a half-open connection: a NAT or firewall dropped it) and its
/// subscriptions are made again, with one RESUBSCRIBED item.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_pubsub_heartbeat_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.pubsub_heartbeat) }
}

/// Sets how many pub/sub items wait for a callback that fell behind before new messages are
/// dropped (and counted in one DROPPED item) (default 65536). Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_pubsub_queue(
    options: *mut slotwise_options,
    items: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            if items == 0 {
                return Err(Failure::invalid("pubsub_queue must be > 0"));
            }
            o.options.pubsub_queue = items;
            Ok(())
        })
    }
}

/// Sets how often every sentinel is asked for the master (Sentinel mode; default 250 ms).
/// Must be > 0.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_sentinel_poll_interval_ms(
    options: *mut slotwise_options,
    ms: u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { set_ms(options, ms, |o| &mut o.sentinel_poll_interval) }
}

/// Adds a static rewrite: connect to `to` whenever the deployment announces `from` (both
/// `host:port`). Consulted before the remap callback.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_add_address_map(
    options: *mut slotwise_options,
    from: *const u8,
    from_len: usize,
    to: *const u8,
    to_len: usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        with(options, |o| {
            let from = args::addr(from, from_len, "from")?;
            let to = args::addr(to, to_len, "to")?;
            o.options.address_remap.insert(from, to);
            Ok(())
        })
    }
}

/// Sets the remap callback (see `slotwise_remap_callback`), consulted after the static map.
/// `user_data` is passed back untouched; it must stay valid, and usable from slotwise's
/// threads, until every client built from these options has been freed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_remap_callback(
    options: *mut slotwise_options,
    callback: slotwise_remap_callback,
    user_data: *mut c_void,
) -> slotwise_status {
    let ud = UserData::new(user_data);
    let set = |o: &mut OptionsInner| {
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        o.options = std::mem::take(&mut o.options).with_address_remap(move |announced| {
            let (_, list) = with_list(announced, |p, len, out| {
                // SAFETY: a C function pointer given for this purpose, called as documented;
                // the bytes and the list outlive the call.
                unsafe { cb(ud.get(), p, len, out) }
            });
            list.into_iter().next()
        });
        Ok(())
    };
    // SAFETY: header contract.
    unsafe { with(options, set) }
}

/// Sets the seed resolver (see `slotwise_resolver_callback`), or removes it when `callback`
/// is NULL. `user_data` as for `slotwise_options_set_remap_callback`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_options_set_resolver_callback(
    options: *mut slotwise_options,
    callback: slotwise_resolver_callback,
    user_data: *mut c_void,
) -> slotwise_status {
    let ud = UserData::new(user_data);
    let set = |o: &mut OptionsInner| {
        let Some(cb) = callback else {
            o.options.resolver = None;
            return Ok(());
        };
        o.options = std::mem::take(&mut o.options).with_resolver(move |seed| {
            let (ok, list) = with_list(seed, |p, len, out| {
                // SAFETY: as for the remap callback.
                unsafe { cb(ud.get(), p, len, out) }
            });
            match ok {
                true => Ok(list),
                false => Err(format!("the resolver callback failed for {seed}")),
            }
        });
        Ok(())
    };
    // SAFETY: header contract.
    unsafe { with(options, set) }
}

/// Runs `f` (a C callback) with `addr` as `host:port` bytes and an empty list to fill.
fn with_list<R>(
    addr: &Addr,
    f: impl FnOnce(*const u8, usize, *mut slotwise_address_list) -> R,
) -> (R, Vec<Addr>) {
    let text = addr.to_string();
    let mut list: Vec<Addr> = Vec::new();
    let r = f(
        text.as_ptr(),
        text.len(),
        (&mut list as *mut Vec<Addr>).cast(),
    );
    (r, list)
}

/// Appends an address (`host:port`) to a list slotwise passed to a callback.
/// `SLOTWISE_STATUS_INVALID_ARGUMENT` for an address that does not parse (nothing appended).
/// Call it only on the thread running that callback, during the callback.
#[no_mangle]
pub unsafe extern "C" fn slotwise_address_list_push(
    list: *mut slotwise_address_list,
    addr: *const u8,
    addr_len: usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract: the list given to the running callback.
        let list = unsafe { args::get_mut(list, "list") }?;
        // SAFETY: header contract.
        list.push(unsafe { args::addr(addr, addr_len, "addr") }?);
        Ok(())
    })
}

impl OptionsInner {
    /// The sentinels' service name, required in Sentinel mode.
    pub fn service(&self) -> Result<&str, Failure> {
        self.service_name.as_deref().ok_or_else(|| {
            Failure::invalid(
                "Sentinel mode needs a service name (slotwise_options_set_service_name)",
            )
        })
    }

    /// The one address of a standalone server.
    pub fn single_seed(&self) -> Result<&str, Failure> {
        match self.seeds.as_slice() {
            [one] => Ok(one),
            s => Err(Failure::invalid(format!(
                "standalone mode needs exactly one seed address, not {}",
                s.len()
            ))),
        }
    }
}
