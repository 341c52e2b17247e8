//! Backoff inside a request's deadline, shared by every mode.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Outcome};

/// Waits before attempt `attempt` (1-based): exponential from 5 ms to 500 ms with ±25 %
/// jitter, never past `deadline`. Returns false when the deadline leaves no time to retry.
pub(crate) async fn backoff(attempt: u32, deadline: Instant) -> bool {
    let base = 5u64.saturating_mul(1u64 << attempt.min(7)).min(500);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    let wait = Duration::from_millis(base).mul_f64(jitter);
    let now = Instant::now();
    if now + wait >= deadline {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// The error for a request whose deadline passed while it was being retried: it keeps the
/// last error's kind in its message and its "may have run" outcome.
pub(crate) fn deadline_error(last: Error, may_have_run: bool) -> Error {
    let outcome = if may_have_run {
        Outcome::MayHaveRun
    } else {
        Outcome::NotRun
    };
    Error::new(
        ErrorKind::Timeout,
        outcome,
        format!(
            "request deadline passed while retrying; last error: {}",
            last.message()
        ),
    )
}
