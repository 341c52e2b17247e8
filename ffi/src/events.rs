//! Events as a C callback: a task on the runtime reads the client's event stream and hands
//! each event to a thread of its own that calls C. A dedicated thread (not a runtime thread)
//! so the callback may block and may call any slotwise function, blocking ones included, and
//! so that removing the callback can wait for a call in progress to end.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};

use slotwise::{blocking, Event};
use tokio::sync::broadcast::error::RecvError;

use crate::args::{self, Handle, UserData};
use crate::client::{self, slotwise_client};
use crate::error::Failure;
use crate::panic::call;
use crate::status::slotwise_status;

/// One event about the deployment, passed to a `slotwise_event_callback`. Borrowed: valid
/// only during that callback; read it with the `slotwise_event_get_*` accessors (from the
/// callback's thread) and copy what you keep.
#[derive(Debug)]
pub struct slotwise_event {
    _private: [u8; 0],
}

/// What happened. Each accessor says for which types it answers; others give
/// `SLOTWISE_STATUS_WRONG_TYPE`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_event_type {
    /// A new topology is in use: topology version, slots moved.
    TopologyChanged = 1,
    /// A node was marked failed and is avoided until a probe sees it answer: address,
    /// reason, permanent.
    NodeFailed = 2,
    /// A failed node answers again and is used again: address.
    NodeRecovered = 3,
    /// A shard's primary changed to one of its replicas: address (the old primary), new
    /// primary.
    Failover = 4,
    /// A sentinel stopped answering (Sentinel mode): address, reason.
    SentinelLost = 5,
    /// A lost sentinel answers again: address.
    SentinelRegained = 6,
    /// The callback fell behind and the oldest events were dropped: dropped count. Read
    /// what you need (topology version, health check) afresh.
    EventsDropped = 7,
    /// An event kind newer than this library's event types.
    Unknown = 99,
}

/// Receives events about the deployment, one at a time, in order, with the `user_data` given
/// to `slotwise_client_set_event_callback`. `event` is valid only during the call.
///
/// Called on a thread slotwise starts for this client's events (not a runtime thread), so it
/// may block and may call any slotwise function, blocking ones and
/// `slotwise_client_set_event_callback` / `slotwise_client_free` of its own client included.
/// While it runs, later events wait (up to 1024; beyond that the oldest are dropped and an
/// EVENTS_DROPPED event says how many). It must not unwind (C++ exceptions, longjmp) into
/// slotwise.
pub type slotwise_event_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const slotwise_event)>;

/// An event flattened for C: every byte string it can hand out lives here.
pub(crate) struct EventInner {
    kind: slotwise_event_type,
    addr: Option<String>,
    new_primary: Option<String>,
    reason: Option<String>,
    permanent: Option<bool>,
    version: Option<u64>,
    slots_moved: Option<u32>,
    dropped: Option<u64>,
}

impl Handle for slotwise_event {
    type Inner = EventInner;
}

impl EventInner {
    fn empty(kind: slotwise_event_type) -> Self {
        EventInner {
            kind,
            addr: None,
            new_primary: None,
            reason: None,
            permanent: None,
            version: None,
            slots_moved: None,
            dropped: None,
        }
    }

    fn from_event(e: Event) -> Self {
        use slotwise_event_type as T;
        match e {
            Event::TopologyChanged { version, diff } => EventInner {
                version: Some(version),
                slots_moved: Some(diff.slots_moved),
                ..Self::empty(T::TopologyChanged)
            },
            Event::NodeFailed {
                addr,
                reason,
                permanent,
            } => EventInner {
                addr: Some(addr.to_string()),
                reason: Some(reason),
                permanent: Some(permanent),
                ..Self::empty(T::NodeFailed)
            },
            Event::NodeRecovered { addr } => EventInner {
                addr: Some(addr.to_string()),
                ..Self::empty(T::NodeRecovered)
            },
            Event::Failover {
                old_primary,
                new_primary,
            } => EventInner {
                addr: Some(old_primary.to_string()),
                new_primary: Some(new_primary.to_string()),
                ..Self::empty(T::Failover)
            },
            Event::SentinelLost { addr, reason } => EventInner {
                addr: Some(addr.to_string()),
                reason: Some(reason),
                ..Self::empty(T::SentinelLost)
            },
            Event::SentinelRegained { addr } => EventInner {
                addr: Some(addr.to_string()),
                ..Self::empty(T::SentinelRegained)
            },
            _ => Self::empty(T::Unknown),
        }
    }
}

/// What the runtime task hands to the delivery thread.
enum Item {
    Event(Event),
    Dropped(u64),
}

/// A running delivery: the task reading the client's events and the thread calling C.
pub(crate) struct Subscription {
    stopped: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    thread: JoinHandle<()>,
}

impl Subscription {
    fn start(
        client: &slotwise::Client,
        cb: unsafe extern "C" fn(*mut c_void, *const slotwise_event),
        ud: UserData,
    ) -> Result<Subscription, Failure> {
        // Subscribed before returning, so no event after this call is missed.
        let mut rx = client.events();
        let (tx, items) = mpsc::channel::<Item>();
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopped);
        let thread = thread::Builder::new()
            .name("slotwise-events".into())
            .spawn(move || {
                // Ends when the task drops its sender (aborted, or the client is gone).
                while let Ok(item) = items.recv() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let inner = match item {
                        Item::Event(e) => EventInner::from_event(e),
                        Item::Dropped(n) => EventInner {
                            dropped: Some(n),
                            ..EventInner::empty(slotwise_event_type::EventsDropped)
                        },
                    };
                    let ev = (&inner as *const EventInner).cast::<slotwise_event>();
                    // SAFETY: a C function pointer given for this purpose; `ev` outlives it.
                    unsafe { cb(ud.get(), ev) };
                }
            })
            .map_err(|e| {
                Failure::new(
                    slotwise_status::Io,
                    format!("cannot start the event thread: {e}"),
                )
            })?;
        let task = blocking::runtime().spawn(async move {
            loop {
                let item = match rx.recv().await {
                    Ok(e) => Item::Event(e),
                    Err(RecvError::Lagged(n)) => Item::Dropped(n),
                    Err(RecvError::Closed) => break,
                };
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        Ok(Subscription {
            stopped,
            task,
            thread,
        })
    }

    /// Stops delivery. When this returns the callback is not running and will not run again,
    /// except when called from the callback itself, which then simply is the last call.
    pub fn stop(self) {
        self.stopped.store(true, Ordering::Release);
        self.task.abort();
        if self.thread.thread().id() != thread::current().id() {
            // A panic on that thread was already reported by the panic hook; nothing to add.
            let _ = self.thread.join();
        }
    }
}

/// Sets (or, with `callback` NULL, removes) the function that receives this client's events:
/// topology changes, failed and recovered nodes, failovers, and in Sentinel mode lost and
/// regained sentinels. Events from the moment of this call on are delivered; a callback set
/// before is removed first (when this returns, it is not running and will not run again).
///
/// `user_data` is passed back untouched; it must stay valid, and usable from the event thread,
/// until the callback is replaced or removed, or the client freed. Thread-safe; may be called
/// from inside the event callback (to replace or remove it), but not from a reply callback
/// (see `slotwise_client_free`).
#[no_mangle]
pub unsafe extern "C" fn slotwise_client_set_event_callback(
    client: *const slotwise_client,
    callback: slotwise_event_callback,
    user_data: *mut c_void,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let c = unsafe { client::get(client) }?;
        let core = client::core(c)?;
        // Taken out before stopping, so the stopped callback can itself call in here.
        let old = c.events.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.stop();
        }
        if let Some(cb) = callback {
            let sub = Subscription::start(core, cb, UserData::new(user_data))?;
            let previous = c
                .events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .replace(sub);
            // Another thread set one at the same time: the last one set wins.
            if let Some(previous) = previous {
                previous.stop();
            }
        }
        Ok(())
    })
}

fn missing(e: &EventInner, what: &str) -> Failure {
    Failure::new(
        slotwise_status::WrongType,
        format!("a {:?} event has no {what}", e.kind),
    )
}

/// Writes the event's type to `*out`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_type(
    event: *const slotwise_event,
    out: *mut slotwise_event_type,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        args::copy_value(event, "event", out, slotwise_event_type::Unknown, |e| {
            Ok(e.kind)
        })
    }
}

/// Points `*ptr`/`*len` at one of the event's byte strings (valid during the callback).
unsafe fn text_field(
    event: *const slotwise_event,
    ptr: *mut *const u8,
    len: *mut usize,
    what: &str,
    field: impl FnOnce(&EventInner) -> &Option<String>,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        args::lend_bytes(event, "event", ptr, len, |e| {
            field(e)
                .as_deref()
                .map(str::as_bytes)
                .ok_or_else(|| missing(e, what))
        })
    }
}

/// The node's address (`host:port` bytes, not NUL-terminated) for NODE_FAILED,
/// NODE_RECOVERED, SENTINEL_LOST and SENTINEL_REGAINED; the old primary's for FAILOVER.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_address(
    event: *const slotwise_event,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { text_field(event, ptr, len, "address", |e| &e.addr) }
}

/// The new primary's address (`host:port` bytes) for FAILOVER.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_new_primary(
    event: *const slotwise_event,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { text_field(event, ptr, len, "new primary", |e| &e.new_primary) }
}

/// Why, as text bytes, for NODE_FAILED and SENTINEL_LOST.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_reason(
    event: *const slotwise_event,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { text_field(event, ptr, len, "reason", |e| &e.reason) }
}

/// Runs one number-valued accessor.
unsafe fn number_field<T: Copy>(
    event: *const slotwise_event,
    out: *mut T,
    empty: T,
    what: &str,
    field: impl FnOnce(&EventInner) -> Option<T>,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        args::copy_value(event, "event", out, empty, |e| {
            field(e).ok_or_else(|| missing(e, what))
        })
    }
}

/// For NODE_FAILED: true when the failure was a refusal, reset or unresolvable name rather
/// than slowness (timeouts).
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_permanent(
    event: *const slotwise_event,
    out: *mut bool,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(event, out, false, "permanent flag", |e| e.permanent) }
}

/// For TOPOLOGY_CHANGED: the new topology version (see `slotwise_client_topology_version`).
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_topology_version(
    event: *const slotwise_event,
    out: *mut u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(event, out, 0, "topology version", |e| e.version) }
}

/// For TOPOLOGY_CHANGED: how many hash slots changed primary.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_slots_moved(
    event: *const slotwise_event,
    out: *mut u32,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(event, out, 0, "slots moved", |e| e.slots_moved) }
}

/// For EVENTS_DROPPED: how many events were dropped.
#[no_mangle]
pub unsafe extern "C" fn slotwise_event_get_dropped_count(
    event: *const slotwise_event,
    out: *mut u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(event, out, 0, "dropped count", |e| e.dropped) }
}
