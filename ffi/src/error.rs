//! The thread's last error: what a failed call returned, in words, for
//! `slotwise_last_error_message()`. Every call that returns a `slotwise_status` replaces it
//! (cleared on success), so it always describes the latest such call on the calling thread.

use std::cell::RefCell;
use std::ffi::c_char;

use crate::panic::boundary;
use crate::status::slotwise_status;

/// A failure on its way to C: a status, a message, and whether the command may have run.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub status: slotwise_status,
    pub message: String,
    pub may_have_run: bool,
}

impl Failure {
    pub fn new(status: slotwise_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            may_have_run: false,
        }
    }

    /// A NULL where a pointer was required; `name` is the C parameter's name.
    pub fn null(name: &str) -> Self {
        Failure::new(
            slotwise_status::NullArgument,
            format!("argument {name} must not be NULL"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(slotwise_status::InvalidArgument, message)
    }
}

impl From<slotwise::Error> for Failure {
    fn from(e: slotwise::Error) -> Self {
        Failure {
            status: slotwise_status::from_kind(e.kind()),
            may_have_run: e.may_have_run(),
            // Display adds "(the command may have run)" where it applies; core messages never
            // hold secrets.
            message: e.to_string(),
        }
    }
}

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Records `f` as this thread's last error.
pub(crate) fn set(f: Failure) {
    // try_with: a call made while the thread is being torn down has nowhere to record.
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(f));
}

pub(crate) fn clear() {
    let _ = LAST.try_with(|l| *l.borrow_mut() = None);
}

/// Turns a call's result into its status, recording or clearing the last error.
pub(crate) fn report(r: Result<(), Failure>) -> slotwise_status {
    match r {
        Ok(()) => {
            clear();
            slotwise_status::Ok
        }
        Err(f) => {
            let s = f.status;
            set(f);
            s
        }
    }
}

/// Copies the message of the calling thread's last error into `buf` as a NUL-terminated
/// string: at most `len - 1` bytes, cut at a UTF-8 character boundary. `*written` (when not
/// NULL) receives the number of bytes copied, the NUL not counted. An empty string when the
/// last status-returning call on this thread succeeded.
///
/// Returns `SLOTWISE_STATUS_OK`, `SLOTWISE_STATUS_BUFFER_TOO_SMALL` when the message was cut
/// (or `len` is 0), or `SLOTWISE_STATUS_NULL_ARGUMENT` when `buf` is NULL and `len` is not 0.
/// Unlike every other call, this one leaves the last error as it is.
///
/// Thread-safe: each thread has its own last error. Inside a callback that slotwise calls
/// with a status (`slotwise_reply_callback`), it describes that status.
#[no_mangle]
pub unsafe extern "C" fn slotwise_last_error_message(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> slotwise_status {
    boundary(|| {
        if !written.is_null() {
            // SAFETY: the caller passes NULL or a valid size_t pointer.
            unsafe { *written = 0 };
        }
        if buf.is_null() && len != 0 {
            return slotwise_status::NullArgument;
        }
        let message = LAST
            .try_with(|l| l.borrow().as_ref().map(|f| f.message.clone()))
            .ok()
            .flatten()
            .unwrap_or_default();
        if len == 0 {
            return if message.is_empty() {
                slotwise_status::Ok
            } else {
                slotwise_status::BufferTooSmall
            };
        }
        let mut n = message.len().min(len - 1);
        while !message.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: the caller guarantees `buf` holds `len` bytes, and n + 1 <= len.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
            if !written.is_null() {
                *written = n;
            }
        }
        if n < message.len() {
            slotwise_status::BufferTooSmall
        } else {
            slotwise_status::Ok
        }
    })
}

/// True when the calling thread's last failure says the command may have run on a server
/// (written, then the connection broke or the deadline passed before the reply): resending a
/// write could apply it twice. False after a success and for failures where the command
/// certainly did not run or certainly ran (an error reply).
///
/// Thread-safe (per-thread state). Leaves the last error as it is.
#[no_mangle]
pub extern "C" fn slotwise_last_error_may_have_run() -> bool {
    boundary(|| {
        LAST.try_with(|l| l.borrow().as_ref().is_some_and(|f| f.may_have_run))
            .unwrap_or(false)
    })
}
