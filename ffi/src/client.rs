//! `slotwise_client`: the constructors, blocking commands and the client's lifecycle.

use std::sync::{Arc, Mutex};

use slotwise::blocking;

use crate::args::{self, Handle};
use crate::error::Failure;
use crate::events::Subscription;
use crate::options::{slotwise_options, OptionsInner};
use crate::panic::{boundary, call};
use crate::reply::{self, slotwise_reply};
use crate::status::slotwise_status;

/// A connection to a Redis Cluster, a Sentinel-managed master, or one Redis server: it follows
/// failovers, slot moves and address changes by itself. Create with
/// `slotwise_client_cluster`, `slotwise_client_sentinel` or `slotwise_client_standalone`;
/// free with `slotwise_client_free`.
///
/// Thread-safety: fully thread-safe. Every function taking a `slotwise_client *` may be called
/// from any number of threads at once, except `slotwise_client_free`, which must be called
/// exactly once, after every other call on that client has returned.
///
/// Fork: a client created before `fork()` fails with `SLOTWISE_STATUS_CLOSED` in the child
/// (its threads do not exist there); create a new client in the child.
#[derive(Debug)]
pub struct slotwise_client {
    _private: [u8; 0],
}

pub(crate) struct ClientInner {
    /// Shared with pipelines, so a pipeline never points at a freed client.
    pub client: Arc<blocking::Client>,
    /// The event callback's delivery, when one is set.
    pub events: Mutex<Option<Subscription>>,
}

impl Handle for slotwise_client {
    type Inner = ClientInner;
}

/// Borrows the client behind `client`.
///
/// # Safety
/// `client` is NULL or a live client pointer.
pub(crate) unsafe fn get<'a>(client: *const slotwise_client) -> Result<&'a ClientInner, Failure> {
    // SAFETY: per this function's contract.
    unsafe { args::get(client, "client") }
}

/// The core client, failing in a forked child.
pub(crate) fn core(c: &ClientInner) -> Result<&slotwise::Client, Failure> {
    Ok(c.client.client()?)
}

/// Builds a client with `connect` from the options behind `options`, into `*out`.
unsafe fn construct(
    options: *const slotwise_options,
    out: *mut *mut slotwise_client,
    connect: impl FnOnce(&OptionsInner) -> Result<blocking::Client, Failure>,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, o) = unsafe {
            (
                args::out(out, "out", std::ptr::null_mut())?,
                args::get(options, "options")?,
            )
        };
        let client = connect(o)?;
        out.write(args::into_raw::<slotwise_client>(ClientInner {
            client: Arc::new(client),
            events: Mutex::new(None),
        }));
        Ok(())
    })
}

/// Connects to a Redis Cluster through any of the options' seeds, discovers its topology and
/// writes the client to `*out` (NULL on failure). Blocks until the topology is known or the
/// discovery failed (each seed gets the connect timeout). Free with `slotwise_client_free`.
///
/// `SLOTWISE_STATUS_INVALID_ARGUMENT` for no seeds or an option that cannot work;
/// `SLOTWISE_STATUS_CONNECT` / `SLOTWISE_STATUS_TOPOLOGY` when no seed answered usefully.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_cluster(
    options: *const slotwise_options,
    out: *mut *mut slotwise_client,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        construct(options, out, |o| {
            Ok(blocking::Client::cluster(&o.seeds, o.options.clone())?)
        })
    }
}

/// Connects to the master that the sentinels (the options' seeds) name for the options'
/// service name, verified with `ROLE`, and writes the client to `*out` (NULL on failure). The
/// client follows the master through failovers. Blocks until the master is found or that
/// failed. Free with `slotwise_client_free`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_sentinel(
    options: *const slotwise_options,
    out: *mut *mut slotwise_client,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        construct(options, out, |o| {
            let service = o.service()?;
            let c = blocking::block_on(slotwise::Client::sentinel(
                &o.seeds,
                service,
                o.options.clone(),
            ))?;
            Ok(blocking::Client::from(c))
        })
    }
}

/// Connects to the one Redis server given as the options' only seed and writes the client to
/// `*out` (NULL on failure). Blocks until connected. Free with `slotwise_client_free`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_standalone(
    options: *const slotwise_options,
    out: *mut *mut slotwise_client,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        construct(options, out, |o| {
            Ok(blocking::Client::standalone(
                o.single_seed()?,
                o.options.clone(),
            )?)
        })
    }
}

/// Closes the client and frees it: the event callback is removed first (when this returns it
/// is not running and will not run again), then every connection is closed. Pipelines of this
/// client stay valid but fail with `SLOTWISE_STATUS_CLOSED`. Asynchronous commands still in
/// flight complete and their callbacks are still called exactly once: with their reply, or
/// with `SLOTWISE_STATUS_CLOSED` (not sent yet) or `SLOTWISE_STATUS_IO` (its connection was
/// closed under it; it may have run). NULL is a no-op.
///
/// Call it once, after every other call on this client has returned. It may be called from
/// the client's own event callback, but not from a reply callback: it waits for a running
/// event callback, which may itself be waiting on the runtime thread that runs the reply
/// callback.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_free(client: *mut slotwise_client) {
    boundary(|| {
        if client.is_null() {
            return;
        }
        // SAFETY: header contract: a live client, used by no other call now.
        let inner = unsafe { Box::from_raw(client.cast::<ClientInner>()) };
        let sub = inner
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match sub {
            // In a forked child the delivery thread and task do not exist: nothing to stop
            // or wait for (waiting would hang), so the parent's bookkeeping is leaked.
            Some(sub) if inner.client.client().is_err() => std::mem::forget(sub),
            Some(sub) => sub.stop(),
            None => {}
        }
        inner.client.close();
    })
}

/// Password rotation: connections the client opens from now on authenticate as `user` (NULL:
/// the `default` user) with `password` (both copied); open connections are kept, so no
/// request is dropped. Add the new password to the ACL user, call this, then remove the old
/// one. Sentinel mode: the data nodes' credentials. No I/O. Thread-safe.
/// `SLOTWISE_STATUS_CLOSED` on a closed client.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_update_credentials(
    client: *const slotwise_client,
    user: *const u8,
    user_len: usize,
    password: *const u8,
    password_len: usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (c, (user, password)) = unsafe {
            (
                get(client)?,
                crate::options::credentials(user, user_len, password, password_len)?,
            )
        };
        core(c)?.update_credentials(user.as_deref(), &password)?;
        Ok(())
    })
}

/// Closes every connection of the client without freeing it; later calls on it fail with
/// `SLOTWISE_STATUS_CLOSED`. Thread-safe. `slotwise_client_free` is still needed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_close(client: *const slotwise_client) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        unsafe { get(client) }?.client.close();
        Ok(())
    })
}

/// Runs one command and blocks until its reply. The command is `argc` binary-safe arguments,
/// the name first: argument `i` is `argv_len[i]` bytes at `argv[i]` (copied before sending).
/// On success `*reply` receives a reply you own (free it with `slotwise_reply_free`); on
/// failure it is set to NULL, the status says what went wrong, and
/// `slotwise_last_error_may_have_run()` says whether the command may still have run.
///
/// An error reply from the server is a failure: `SLOTWISE_STATUS_SERVER` (or a more specific
/// status), with the server's text as the message. Error replies nested in an aggregate stay
/// in the reply (type ERROR).
///
/// Thread-safe. Must not be called from a callback that slotwise runs on its runtime threads
/// (reply, remap, resolver callbacks): it returns `SLOTWISE_STATUS_INVALID_ARGUMENT` there;
/// use `slotwise_command_async`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_command(
    client: *const slotwise_client,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
    reply: *mut *mut slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c, cmd) = unsafe {
            (
                args::out(reply, "reply", std::ptr::null_mut())?,
                get(client)?,
                args::command(argc, argv, argv_len)?,
            )
        };
        out.write(reply::into_owned(c.client.execute(cmd)?));
        Ok(())
    })
}

/// Writes the client's topology version to `*out`: a number that grows every time the
/// routing changes (failover, slot move, node added or removed). Thread-safe, non-blocking.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_topology_version(
    client: *const slotwise_client,
    out: *mut u64,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c) = unsafe { (args::out(out, "out", 0)?, get(client)?) };
        out.write(c.client.topology_version()?);
        Ok(())
    })
}

/// Re-reads the cluster topology now and blocks until it is installed (a no-op outside
/// cluster mode). Not needed for correctness: slotwise refreshes by itself on MOVED,
/// failures and a timer. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_refresh_topology(
    client: *const slotwise_client,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        unsafe { get(client) }?.client.refresh_topology()?;
        Ok(())
    })
}
