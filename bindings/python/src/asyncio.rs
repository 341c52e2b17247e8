//! asyncio bridge: a Rust future becomes an asyncio future of the running loop. It runs on
//! the core's fork-safe runtime (`slotwise::blocking::runtime`), so sync and async clients
//! share one set of threads and a forked child gets a fresh runtime; cancelling the asyncio
//! future aborts the Rust one.
//!
//! Completion without any foreign thread touching Python: each event loop has a [`LoopWaker`]
//! (a socket pair whose read end the loop watches with `add_reader`, and a queue). A finished
//! future pushes its result on the queue and, when the queue was empty, writes one byte; the
//! loop wakes on
//! its own thread, with the GIL it already holds, and settles everything queued. Per request:
//! no thread hand-off, no GIL acquisition from a core thread (so nothing for the interpreter's
//! exit to race with), and one loop wake-up for as many results as finished meanwhile.

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyOSError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::task::AbortHandle;

/// What a future hands back: a conversion run with the GIL held, on completion.
pub struct Deferred(Box<dyn Convert>);

/// A conversion to a Python object, run once with the GIL held.
trait Convert: FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send {}
impl<F: FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send> Convert for F {}

impl Deferred {
    pub fn new(f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send + 'static) -> Self {
        Deferred(Box::new(f))
    }
}

/// `asyncio.get_running_loop` and `slotwise._aio.waker`, looked up once.
static GET_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WAKER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn cached<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || Ok(py.import(module)?.getattr(name)?.unbind()))
        .map(|f| f.bind(py))
}

/// Results waiting for one loop, and the socket pair that wakes it.
struct Shared {
    done: Mutex<Vec<(Py<PyAny>, Deferred)>>,
    /// Written (one byte) by a completion that found the queue empty.
    wake: UnixStream,
    /// Watched by the loop; drained by [`LoopWaker::drain`].
    watched: UnixStream,
}

impl Shared {
    /// Queues one result; wakes the loop when nothing was queued (a loop already woken
    /// takes this one too). No GIL needed.
    fn push(&self, fut: Py<PyAny>, out: Deferred) {
        let was_empty = {
            let mut q = self.done.lock().unwrap_or_else(|p| p.into_inner());
            q.push((fut, out));
            q.len() == 1
        };
        if was_empty {
            // Non-blocking: a full buffer (WouldBlock) still leaves the read end readable,
            // which is all that is needed.
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// One event loop's completion queue (see the module doc); made by `slotwise._aio.waker`,
/// which registers [`LoopWaker::drain`] with `loop.add_reader(waker.fileno(), ...)`.
#[pyclass(frozen)]
pub struct LoopWaker(Arc<Shared>);

impl std::fmt::Debug for LoopWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LoopWaker")
            .field(&self.0.watched.as_raw_fd())
            .finish()
    }
}

#[pymethods]
impl LoopWaker {
    #[new]
    fn new() -> PyResult<Self> {
        let pair = UnixStream::pair().and_then(|(wake, watched)| {
            wake.set_nonblocking(true)?;
            watched.set_nonblocking(true)?;
            Ok((wake, watched))
        });
        let (wake, watched) = pair
            .map_err(|e| PyOSError::new_err(format!("socket pair for the asyncio bridge: {e}")))?;
        Ok(LoopWaker(Arc::new(Shared {
            done: Mutex::new(Vec::new()),
            wake,
            watched,
        })))
    }

    fn fileno(&self) -> i32 {
        self.0.watched.as_raw_fd()
    }

    /// The loop's reader callback: empties the socket and settles every queued future (one
    /// cancelled meanwhile is left alone).
    fn drain(&self, py: Python<'_>) {
        let mut buf = [0u8; 256];
        while matches!((&self.0.watched).read(&mut buf), Ok(n) if n == buf.len()) {}
        let batch = std::mem::take(&mut *self.0.done.lock().unwrap_or_else(|p| p.into_inner()));
        for (fut, out) in batch {
            let fut = fut.bind(py);
            if fut
                .call_method0(intern!(py, "done"))
                .and_then(|d| d.is_truthy())
                .unwrap_or(true)
            {
                continue;
            }
            let set = match (out.0)(py) {
                Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
                Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
            };
            if let Err(e) = set {
                e.print(py);
            }
        }
    }
}

/// An asyncio future for `fut`, bound to the running event loop.
pub fn future<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deferred> + Send + 'static,
{
    let event_loop = cached(py, &GET_LOOP, "asyncio", "get_running_loop")?.call0()?;
    let waker = cached(py, &WAKER, "slotwise._aio", "waker")?.call1((&event_loop,))?;
    let shared = waker.cast::<LoopWaker>()?.get().0.clone();
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let fut_ref = py_fut.clone().unbind();
    let task = slotwise::blocking::runtime().spawn(async move {
        let out = fut.await;
        shared.push(fut_ref, out);
    });
    py_fut.call_method1(
        intern!(py, "add_done_callback"),
        (Canceller(task.abort_handle()),),
    )?;
    Ok(py_fut)
}

/// `add_done_callback` target: aborts the Rust future when the asyncio one is cancelled.
#[pyclass(frozen)]
struct Canceller(AbortHandle);

#[pymethods]
impl Canceller {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.0.abort();
        }
        Ok(())
    }
}
