//! The one way the core's threads call into Python, and the interpreter's exit.
//!
//! A thread that is not Python's own and asks for the GIL while the interpreter finalizes is
//! ended by CPython with `pthread_exit`, which unwinds through Rust frames and kills the
//! process (measured on 3.11: a script that used an `AsyncClient` and exited normally crashed
//! at exit in 11 of 40 runs). So every such call goes through [`with_python`], and an
//! `atexit` hook ([`at_exit`], registered when the package is imported) closes the gate and
//! waits, with the GIL released, until the calls already inside have left.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static EXITING: AtomicBool = AtomicBool::new(false);
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` with the GIL from a core thread; `None` once the interpreter is exiting.
pub fn with_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    // Counted before the check, so `at_exit` either sees this call or it sees the gate shut.
    INSIDE.fetch_add(1, Ordering::SeqCst);
    let r = if EXITING.load(Ordering::SeqCst) {
        None
    } else {
        Python::try_attach(f)
    };
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    r
}

/// Shuts the gate and waits (at most 2 s, GIL released) for the calls inside to finish.
#[pyfunction]
pub fn at_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
