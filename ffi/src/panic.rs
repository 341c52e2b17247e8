//! The panic boundary: every `extern "C"` body runs inside [`boundary`] (or [`call`], its
//! status-reporting form), so a Rust panic becomes `SLOTWISE_STATUS_PANIC` (or a harmless
//! default for functions that return no status) instead of unwinding into C, which is
//! undefined behaviour, or aborting the host process. Futures that end in a C callback run
//! inside [`CatchUnwind`] so the callback still comes, exactly once, with a status.
//!
//! Functions rather than a macro: a closure gives `?` its own scope, so a body can bail out
//! early without returning past the boundary.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{self, Failure};
use crate::status::slotwise_status;

/// What an FFI function returns when its body panicked.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for slotwise_status {
    fn on_panic() -> Self {
        slotwise_status::Panic
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}

impl OnPanic for u32 {
    fn on_panic() -> Self {
        0
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

/// Runs `f`; a panic is recorded as the thread's last error and turns into `R::on_panic()`.
pub(crate) fn boundary<R: OnPanic>(f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            error::set(panic_failure(payload.as_ref()));
            R::on_panic()
        }
    }
}

/// The body of every fallible FFI function: runs `f` behind the boundary and reports its
/// result as a status, recording (or clearing) the thread's last error.
pub(crate) fn call(f: impl FnOnce() -> Result<(), Failure>) -> slotwise_status {
    boundary(|| error::report(f()))
}

pub(crate) fn panic_failure(payload: &(dyn Any + Send)) -> Failure {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    Failure::new(
        slotwise_status::Panic,
        format!("internal error in slotwise (a bug, please report it): {what}"),
    )
}

/// A future whose panic is caught and handed back as a [`Failure`].
pub(crate) struct CatchUnwind<F>(pub Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Failure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_failure(payload.as_ref()))),
        }
    }
}
