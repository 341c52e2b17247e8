//! asyncio bridge: a Rust future becomes an asyncio future of the running loop. It runs on
//! the core's fork-safe runtime (`slotwise::blocking::runtime`), so sync and async clients
//! share one set of threads and a forked child gets a fresh runtime; cancelling the asyncio
//! future aborts the Rust one.
//!
//! Completions are batched: a finished future queues its result for one completion thread,
//! which takes everything queued, converts it under one GIL acquisition (through
//! [`gate::with_python`], never on a core worker) and hands each loop its share with one
//! `call_soon_threadsafe`. One GIL acquisition, one loop wake-up and no thread hand-off per
//! request: with many requests in flight (the asyncio case) they complete in groups.

use std::future::Future;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;
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

/// One finished future: its loop, the asyncio future, the result to convert.
struct Done {
    event_loop: Py<PyAny>,
    fut: Py<PyAny>,
    out: Deferred,
}

/// The completion thread's queue, per process (a forked child starts its own thread).
static QUEUE: Mutex<Option<(u32, Sender<Done>)>> = Mutex::new(None);

/// `asyncio.get_running_loop` and `slotwise._aio.settle_many`, looked up once.
static GET_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SETTLE_MANY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn cached<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || Ok(py.import(module)?.getattr(name)?.unbind()))
        .map(|f| f.bind(py))
}

/// An asyncio future for `fut`, bound to the running event loop.
pub fn future<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deferred> + Send + 'static,
{
    let event_loop = cached(py, &GET_LOOP, "asyncio", "get_running_loop")?.call0()?;
    let py_fut = event_loop.call_method0("create_future")?;
    let queue = sender()?;
    let (loop_ref, fut_ref) = (event_loop.unbind(), py_fut.clone().unbind());
    let task = slotwise::blocking::runtime().spawn(async move {
        let out = fut.await;
        // The completion thread is gone only when the process is exiting: nobody waits.
        let _ = queue.send(Done {
            event_loop: loop_ref,
            fut: fut_ref,
            out,
        });
    });
    py_fut.call_method1("add_done_callback", (Canceller(task.abort_handle()),))?;
    Ok(py_fut)
}

/// This process's completion queue, starting its thread on first use.
fn sender() -> PyResult<Sender<Done>> {
    let mut q = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if let Some((owner, tx)) = q.as_ref() {
        if *owner == pid {
            return Ok(tx.clone());
        }
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("slotwise-asyncio".into())
        .spawn(move || complete_all(rx))
        .map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "cannot start the asyncio completion thread: {e}"
            ))
        })?;
    *q = Some((pid, tx.clone()));
    Ok(tx)
}

/// The completion thread: waits for one result, takes every other one queued meanwhile, and
/// completes them together.
fn complete_all(rx: Receiver<Done>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(4096));
        // `None`: the interpreter is exiting and no one waits for these.
        gate::with_python(|py| complete(py, batch));
    }
}

/// Converts each result and schedules each loop's share into its futures; a future already
/// cancelled, or a loop already closed, has no one waiting, so its result is dropped.
fn complete(py: Python<'_>, batch: Vec<Done>) {
    let settle = match cached(py, &SETTLE_MANY, "slotwise._aio", "settle_many") {
        Ok(f) => f.clone(),
        Err(e) => return e.print(py),
    };
    // Usually one loop; kept in first-seen order.
    let mut per_loop: Vec<(Py<PyAny>, Bound<'_, PyList>)> = Vec::new();
    for d in batch {
        let (ok, value) = match (d.out.0)(py) {
            Ok(v) => (true, v),
            Err(e) => (false, e.into_value(py).into_any()),
        };
        let item = (d.fut, ok, value);
        let list = match per_loop
            .iter()
            .position(|(l, _)| l.as_ptr() == d.event_loop.as_ptr())
        {
            Some(i) => &per_loop[i].1,
            None => {
                per_loop.push((d.event_loop, PyList::empty(py)));
                &per_loop[per_loop.len() - 1].1
            }
        };
        if let Err(e) = list.append(item) {
            e.print(py);
        }
    }
    for (event_loop, items) in per_loop {
        if let Err(e) = event_loop.call_method1(py, "call_soon_threadsafe", (&settle, items)) {
            // A closed loop: nobody waits for these.
            if !e.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py) {
                e.print(py);
            }
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
