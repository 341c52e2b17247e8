//! asyncio bridge: a Rust future becomes an asyncio future of the running loop. It runs on
//! the core's fork-safe runtime (`slotwise::blocking::runtime`), so sync and async clients
//! share one set of threads and a forked child gets a fresh runtime. The result is converted
//! with the GIL on a blocking thread (never a core worker) through [`gate::with_python`] and
//! handed to the loop with `call_soon_threadsafe`; cancelling the asyncio future aborts the
//! Rust one.

use std::future::Future;

use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::gate;

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

/// An asyncio future for `fut`, bound to the running event loop.
pub fn future<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deferred> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_fut = event_loop.call_method0("create_future")?;
    let (loop_ref, fut_ref) = (event_loop.unbind(), py_fut.clone().unbind());
    let task = slotwise::blocking::runtime().spawn(async move {
        let out = fut.await;
        // The GIL is waited for on a blocking thread, never on a core worker.
        let _ = tokio::task::spawn_blocking(move || {
            gate::with_python(|py| complete(py, &loop_ref, fut_ref, out));
        })
        .await;
    });
    py_fut.call_method1("add_done_callback", (Canceller(task.abort_handle()),))?;
    Ok(py_fut)
}

/// Converts `out` and schedules it into `fut` on its loop; a future already cancelled, or a
/// loop already closed, has no one waiting, so the result is dropped.
fn complete(py: Python<'_>, event_loop: &Py<PyAny>, fut: Py<PyAny>, out: Deferred) {
    let (ok, value) = match (out.0)(py) {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    let scheduled = py
        .import("slotwise._aio")
        .and_then(|m| m.getattr("settle"))
        .and_then(|settle| {
            event_loop.call_method1(py, "call_soon_threadsafe", (settle, fut, ok, value))
        });
    if let Err(e) = scheduled {
        if !e.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py) {
            e.print(py);
        }
    }
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
