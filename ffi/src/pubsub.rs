//! Pub/Sub as a C callback: `slotwise_pubsub` wraps one core [`slotwise::PubSub`] (its own
//! connections, re-established by core after failovers, node losses, IP changes, Sentinel
//! switches and slot moves) and a thread of its own that takes each item from it and calls C.
//! A dedicated thread, as for events: the callback may block and may call any slotwise
//! function, and freeing the pub/sub can wait for a call in progress to end.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use bytes::Bytes;
use slotwise::pubsub::Kind;
use slotwise::{blocking, PubSub, PubSubItem};

use crate::args::{self, Handle, UserData};
use crate::client::{self, slotwise_client};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::status::slotwise_status;

/// A pub/sub session of one client: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE on dedicated
/// connections (apart from the client's request connections), every item handed to the
/// callback given to `slotwise_pubsub_new`. After a failover, a node loss, an IP change, a
/// Sentinel switch or (sharded channels) a slot move, every subscription is made again where
/// it now belongs, and the callback receives one RESUBSCRIBED item per interruption (messages
/// published meanwhile may have been missed) rather than an error.
///
/// Thread-safety: every function taking a `slotwise_pubsub *` may be called from any number
/// of threads at once, the callback's thread included, except `slotwise_pubsub_free`, which
/// must be called exactly once, after every other call on it has returned. It stays usable
/// after its client is freed, but every subscription then fails with
/// `SLOTWISE_STATUS_CLOSED`.
#[derive(Debug)]
pub struct slotwise_pubsub {
    _private: [u8; 0],
}

/// The three kinds of subscription.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_pubsub_kind {
    /// `SUBSCRIBE channel`: on one connection to any node (Redis Cluster broadcasts PUBLISH
    /// to every node); the master in Sentinel mode.
    Channel = 1,
    /// `PSUBSCRIBE pattern`, on the same connection as channels.
    Pattern = 2,
    /// `SSUBSCRIBE shardchannel` (Redis 7): on the primary serving the channel's slot.
    Sharded = 3,
}

impl slotwise_pubsub_kind {
    fn from_core(k: Kind) -> Self {
        match k {
            Kind::Pattern => Self::Pattern,
            Kind::Sharded => Self::Sharded,
            _ => Self::Channel,
        }
    }
}

/// What a `slotwise_pubsub_item` is. Each accessor says for which types it answers; others
/// give `SLOTWISE_STATUS_WRONG_TYPE`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_pubsub_item_type {
    /// A published message: kind, channel, payload, and the pattern for kind PATTERN.
    Message = 1,
    /// The server confirmed a subscription: kind, channel (the channel or pattern), count
    /// (subscriptions this pub/sub holds now).
    Subscribed = 2,
    /// A subscription was dropped on request: kind, channel, count.
    Unsubscribed = 3,
    /// Subscriptions are back after an interruption; messages published while they were away
    /// may have been missed: count (how many were restored), each with
    /// `slotwise_pubsub_item_get_resubscribed`, and interrupted microseconds.
    Resubscribed = 4,
    /// The callback fell more than the `pubsub_queue` option's number of items behind and
    /// messages were dropped here: count (messages dropped).
    Dropped = 5,
    /// An item type newer than this library's.
    Unknown = 99,
}

/// One pub/sub item, passed to a `slotwise_pubsub_callback`. Borrowed: valid only during that
/// callback; read it with the `slotwise_pubsub_item_get_*` accessors (from the callback's
/// thread) and copy what you keep.
#[derive(Debug)]
pub struct slotwise_pubsub_item {
    _private: [u8; 0],
}

pub(crate) struct ItemInner {
    ty: slotwise_pubsub_item_type,
    kind: Option<slotwise_pubsub_kind>,
    channel: Option<Bytes>,
    pattern: Option<Bytes>,
    payload: Option<Bytes>,
    count: Option<u64>,
    interrupted_us: Option<u64>,
    restored: Vec<(Kind, Bytes)>,
}

impl Handle for slotwise_pubsub_item {
    type Inner = ItemInner;
}

impl ItemInner {
    fn empty(ty: slotwise_pubsub_item_type) -> Self {
        ItemInner {
            ty,
            kind: None,
            channel: None,
            pattern: None,
            payload: None,
            count: None,
            interrupted_us: None,
            restored: Vec::new(),
        }
    }

    fn from_item(item: PubSubItem) -> Self {
        use slotwise_pubsub_item_type as T;
        let confirmation = |ty, kind, name, count: usize| ItemInner {
            kind: Some(slotwise_pubsub_kind::from_core(kind)),
            channel: Some(name),
            count: Some(count as u64),
            ..Self::empty(ty)
        };
        match item {
            PubSubItem::Message {
                kind,
                channel,
                pattern,
                payload,
            } => ItemInner {
                kind: Some(slotwise_pubsub_kind::from_core(kind)),
                channel: Some(channel),
                pattern,
                payload: Some(payload),
                ..Self::empty(T::Message)
            },
            PubSubItem::Subscribed { kind, name, count } => {
                confirmation(T::Subscribed, kind, name, count)
            }
            PubSubItem::Unsubscribed { kind, name, count } => {
                confirmation(T::Unsubscribed, kind, name, count)
            }
            PubSubItem::Resubscribed {
                subscriptions,
                interrupted_for,
            } => ItemInner {
                count: Some(subscriptions.len() as u64),
                interrupted_us: Some(
                    u64::try_from(interrupted_for.as_micros()).unwrap_or(u64::MAX),
                ),
                restored: subscriptions,
                ..Self::empty(T::Resubscribed)
            },
            PubSubItem::Dropped { count } => ItemInner {
                count: Some(count),
                ..Self::empty(T::Dropped)
            },
            _ => Self::empty(T::Unknown),
        }
    }
}

/// Receives the items of one pub/sub, one at a time, in arrival order, with the `user_data`
/// given to `slotwise_pubsub_new`. `item` is valid only during the call.
///
/// Called on a thread slotwise starts for this pub/sub (not a runtime thread), so it may block
/// and may call any slotwise function, blocking ones and `slotwise_pubsub_subscribe`,
/// `_unsubscribe` and `_free` of its own pub/sub included. While it runs, later messages wait
/// in a queue of the `pubsub_queue` option's size; beyond that they are dropped and a DROPPED
/// item says how many. It must not unwind (C++ exceptions, longjmp) into slotwise.
pub type slotwise_pubsub_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, item: *const slotwise_pubsub_item)>;

pub(crate) struct PubSubInner {
    ps: Arc<PubSub>,
    stopped: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The process that made it: in a forked child the thread does not exist.
    pid: u32,
}

impl Handle for slotwise_pubsub {
    type Inner = PubSubInner;
}

/// Starts the thread that hands every item of `ps` to `cb`.
fn deliver(
    ps: Arc<PubSub>,
    stopped: Arc<AtomicBool>,
    cb: unsafe extern "C" fn(*mut c_void, *const slotwise_pubsub_item),
    ud: UserData,
) -> Result<JoinHandle<()>, Failure> {
    thread::Builder::new()
        .name("slotwise-pubsub".into())
        .spawn(move || {
            // Ends when the pub/sub is closed and drained, or stopped by `slotwise_pubsub_free`.
            while let Some(item) = blocking::runtime().block_on(ps.next()) {
                if stopped.load(Ordering::Acquire) {
                    break;
                }
                let inner = ItemInner::from_item(item);
                let it = (&inner as *const ItemInner).cast::<slotwise_pubsub_item>();
                // SAFETY: a C function pointer given for this purpose; `it` outlives the call.
                unsafe { cb(ud.get(), it) };
            }
        })
        .map_err(|e| {
            Failure::new(
                slotwise_status::Io,
                format!("cannot start the pub/sub thread: {e}"),
            )
        })
}

/// Starts a pub/sub session of `client` and writes it to `*out` (NULL on failure); free it
/// with `slotwise_pubsub_free`. No I/O until the first subscription. `callback` (required)
/// receives every item, with `user_data` passed back untouched; `user_data` must stay valid,
/// and usable from the pub/sub's thread, until `slotwise_pubsub_free` returns.
/// `SLOTWISE_STATUS_CLOSED` on a closed client. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_new(
    client: *const slotwise_client,
    callback: slotwise_pubsub_callback,
    user_data: *mut c_void,
    out: *mut *mut slotwise_pubsub,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c) = unsafe {
            (
                args::out(out, "out", std::ptr::null_mut())?,
                client::get(client)?,
            )
        };
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        let core = client::core(c)?;
        // Its supervisor task lives on the runtime.
        let ps = {
            let _guard = blocking::runtime().enter();
            Arc::new(core.pubsub()?)
        };
        let stopped = Arc::new(AtomicBool::new(false));
        let thread = deliver(ps.clone(), stopped.clone(), cb, UserData::new(user_data))?;
        out.write(args::into_raw::<slotwise_pubsub>(PubSubInner {
            ps,
            stopped,
            thread: Mutex::new(Some(thread)),
            pid: std::process::id(),
        }));
        Ok(())
    })
}

/// Borrows the pub/sub behind `ps`, failing in a forked child.
///
/// # Safety
/// `ps` is NULL or a live pub/sub pointer.
unsafe fn get<'a>(ps: *const slotwise_pubsub) -> Result<&'a PubSubInner, Failure> {
    // SAFETY: per this function's contract.
    let inner: &PubSubInner = unsafe { args::get(ps, "pubsub") }?;
    if inner.pid != std::process::id() {
        return Err(Failure::new(
            slotwise_status::Closed,
            "the pub/sub was created in another process (fork); create a new one",
        ));
    }
    Ok(inner)
}

/// The kind and the names of a (un)subscription, copied.
///
/// # Safety
/// As [`args::byte_strings`].
unsafe fn request(
    kind: u32,
    count: usize,
    names: *const *const u8,
    names_len: *const usize,
) -> Result<(Kind, Vec<Vec<u8>>), Failure> {
    let k = match kind {
        1 => Kind::Channel,
        2 => Kind::Pattern,
        3 => Kind::Sharded,
        other => {
            return Err(Failure::invalid(format!(
                "kind {other} is not a slotwise_pubsub_kind (1 channel, 2 pattern, 3 sharded)"
            )))
        }
    };
    // SAFETY: per this function's contract.
    let list = unsafe { args::byte_strings(count, names, names_len, "names") }?;
    Ok((k, list.into_iter().map(<[u8]>::to_vec).collect()))
}

/// Subscribes to `count` (at least 1) channels, patterns or shard channels, as `kind` (one of
/// the `slotwise_pubsub_kind` values, passed as a number) says:
/// name `i` is `names_len[i]` bytes at `names[i]` (copied). Blocks until the server confirmed
/// each (SUBSCRIBED items reach the callback), within the client's request timeout.
/// `SLOTWISE_STATUS_TIMEOUT`: no node confirmed in time; the subscriptions are kept and made as
/// soon as a node can take them (`slotwise_pubsub_unsubscribe` drops them). A name the server
/// refuses (an ACL denial) fails the call and is not kept. Thread-safe; may be called from the
/// pub/sub's own callback, but not from a callback slotwise runs on its runtime threads.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_subscribe(
    ps: *const slotwise_pubsub,
    kind: u32,
    count: usize,
    names: *const *const u8,
    names_len: *const usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (p, (k, list)) = unsafe { (get(ps)?, request(kind, count, names, names_len)?) };
        if list.is_empty() {
            return Err(Failure::invalid("count must be at least 1"));
        }
        let ps = p.ps.clone();
        blocking::block_on(async move { ps.subscribe(k, list).await })?;
        Ok(())
    })
}

/// Drops `count` subscriptions of `kind` (every one of that kind when `count` is 0; `names`
/// and `names_len` may then be NULL). No message of theirs reaches the callback after this
/// returns. Blocks like `slotwise_pubsub_subscribe`; thread-safe.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_unsubscribe(
    ps: *const slotwise_pubsub,
    kind: u32,
    count: usize,
    names: *const *const u8,
    names_len: *const usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (p, (k, list)) = unsafe { (get(ps)?, request(kind, count, names, names_len)?) };
        let ps = p.ps.clone();
        blocking::block_on(async move { ps.unsubscribe(k, list).await })?;
        Ok(())
    })
}

/// Writes how many subscriptions the pub/sub holds to `*out`. Non-blocking, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_subscription_count(
    ps: *const slotwise_pubsub,
    out: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, p) = unsafe { (args::out(out, "out", 0)?, get(ps)?) };
        out.write(p.ps.subscription_count());
        Ok(())
    })
}

/// Closes the pub/sub's connections and frees it. When this returns the callback is not
/// running and will not run again (called from the callback itself, that call is simply the
/// last). NULL is a no-op. Call it once, after every other call on it has returned.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_free(ps: *mut slotwise_pubsub) {
    boundary(|| {
        if ps.is_null() {
            return;
        }
        // SAFETY: header contract: a live pub/sub, used by no other call now.
        let inner = unsafe { Box::from_raw(ps.cast::<PubSubInner>()) };
        let thread = inner
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if inner.pid != std::process::id() {
            // A forked child: the thread and the runtime's tasks do not exist here; waiting
            // or closing would hang, so the parent's bookkeeping is leaked.
            std::mem::forget(thread);
            std::mem::forget(inner);
            return;
        }
        inner.stopped.store(true, Ordering::Release);
        inner.ps.close();
        if let Some(t) = thread {
            if t.thread().id() != thread::current().id() {
                // A panic there was already reported by the panic hook; nothing to add.
                let _ = t.join();
            }
        }
    })
}

/// Borrows the item behind `item`.
///
/// # Safety
/// `item` is NULL or the item of the running callback.
unsafe fn item<'a>(item: *const slotwise_pubsub_item) -> Result<&'a ItemInner, Failure> {
    // SAFETY: per this function's contract.
    unsafe { args::get(item, "item") }
}

fn missing(i: &ItemInner, what: &str) -> Failure {
    Failure::new(
        slotwise_status::WrongType,
        format!("a {:?} pub/sub item has no {what}", i.ty),
    )
}

/// Writes the item's type to `*out`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_type(
    it: *const slotwise_pubsub_item,
    out: *mut slotwise_pubsub_item_type,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        args::copy_value(it, "item", out, slotwise_pubsub_item_type::Unknown, |i| {
            Ok(i.ty)
        })
    }
}

/// The subscription kind, for MESSAGE (the subscription it came through), SUBSCRIBED and
/// UNSUBSCRIBED.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_kind(
    it: *const slotwise_pubsub_item,
    out: *mut slotwise_pubsub_kind,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe {
        args::copy_value(it, "item", out, slotwise_pubsub_kind::Channel, |i| {
            i.kind.ok_or_else(|| missing(i, "kind"))
        })
    }
}

/// Points `*ptr`/`*len` at one of the item's byte strings (valid during the callback).
unsafe fn bytes_field(
    it: *const slotwise_pubsub_item,
    ptr: *mut *const u8,
    len: *mut usize,
    what: &str,
    field: impl FnOnce(&ItemInner) -> &Option<Bytes>,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        args::lend_bytes(it, "item", ptr, len, |i| {
            field(i).as_deref().ok_or_else(|| missing(i, what))
        })
    }
}

/// The channel (bytes, not NUL-terminated): where a MESSAGE was published; the channel or
/// pattern a SUBSCRIBED or UNSUBSCRIBED item names.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_channel(
    it: *const slotwise_pubsub_item,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { bytes_field(it, ptr, len, "channel", |i| &i.channel) }
}

/// The message (bytes) of a MESSAGE.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_payload(
    it: *const slotwise_pubsub_item,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { bytes_field(it, ptr, len, "payload", |i| &i.payload) }
}

/// The matching pattern (bytes) of a MESSAGE of kind PATTERN.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_pattern(
    it: *const slotwise_pubsub_item,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { bytes_field(it, ptr, len, "pattern", |i| &i.pattern) }
}

/// A number-valued accessor.
unsafe fn number_field(
    it: *const slotwise_pubsub_item,
    out: *mut u64,
    what: &str,
    field: impl FnOnce(&ItemInner) -> Option<u64>,
) -> slotwise_status {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        args::copy_value(it, "item", out, 0, |i| {
            field(i).ok_or_else(|| missing(i, what))
        })
    }
}

/// SUBSCRIBED and UNSUBSCRIBED: subscriptions the pub/sub holds now; RESUBSCRIBED: how many
/// subscriptions were restored; DROPPED: how many messages were dropped.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_count(
    it: *const slotwise_pubsub_item,
    out: *mut u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(it, out, "count", |i| i.count) }
}

/// RESUBSCRIBED: microseconds from the interruption until the server confirmed the last
/// subscription restored.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_interrupted_us(
    it: *const slotwise_pubsub_item,
    out: *mut u64,
) -> slotwise_status {
    // SAFETY: header contract.
    unsafe { number_field(it, out, "interruption", |i| i.interrupted_us) }
}

/// RESUBSCRIBED: the `index`-th subscription restored (below the count): its kind to
/// `*kind`, its channel or pattern to `*ptr`/`*len` (valid during the callback).
/// `SLOTWISE_STATUS_INVALID_ARGUMENT` for an index out of range.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pubsub_item_get_resubscribed(
    it: *const slotwise_pubsub_item,
    index: usize,
    kind: *mut slotwise_pubsub_kind,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (kind, ptr, len, i) = unsafe {
            (
                args::out(kind, "kind", slotwise_pubsub_kind::Channel)?,
                args::out(ptr, "ptr", std::ptr::null())?,
                args::out(len, "len", 0)?,
                item(it)?,
            )
        };
        if i.ty != slotwise_pubsub_item_type::Resubscribed {
            return Err(missing(i, "restored subscriptions"));
        }
        let (k, name) = i.restored.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is past the {} subscriptions restored",
                i.restored.len()
            ))
        })?;
        kind.write(slotwise_pubsub_kind::from_core(*k));
        ptr.write(name.as_ptr());
        len.write(name.len());
        Ok(())
    })
}
