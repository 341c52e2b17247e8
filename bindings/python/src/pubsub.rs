//! `NativePubSub`: the core's `PubSub` behind `slotwise.PubSub` and `slotwise.AsyncPubSub`.
//! Items become redis-py-shaped dicts: `type`, `pattern`, `channel`, `data`.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use slotwise::pubsub::Kind;
use slotwise::{blocking, PubSub, PubSubItem};

use crate::asyncio::{self, Deferred};
use crate::errors;

/// One pub/sub session; thread-safe.
#[pyclass(frozen, module = "slotwise._slotwise")]
#[derive(Debug)]
pub struct NativePubSub {
    inner: Arc<PubSub>,
    decode: bool,
}

impl NativePubSub {
    pub fn new(inner: PubSub, decode: bool) -> Self {
        NativePubSub {
            inner: Arc::new(inner),
            decode,
        }
    }
}

fn kind(k: &str) -> PyResult<Kind> {
    match k {
        "channel" => Ok(Kind::Channel),
        "pattern" => Ok(Kind::Pattern),
        "sharded" => Ok(Kind::Sharded),
        _ => Err(PyValueError::new_err(format!(
            "unknown subscription kind {k:?}"
        ))),
    }
}

fn prefix(k: Kind) -> &'static str {
    match k {
        Kind::Pattern => "p",
        Kind::Sharded => "s",
        _ => "",
    }
}

fn text<'py>(py: Python<'py>, b: &[u8], decode: bool) -> Bound<'py, PyAny> {
    if decode {
        if let Ok(s) = std::str::from_utf8(b) {
            return PyString::new(py, s).into_any();
        }
    }
    PyBytes::new(py, b).into_any()
}

/// `{"type", "pattern", "channel", "data"}` like redis-py; `resubscribed` items carry the
/// restored names in `data` and `interrupted_for` (seconds), `dropped` items the count.
fn to_dict(py: Python<'_>, item: PubSubItem, decode: bool) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    let none = py.None();
    match item {
        PubSubItem::Message {
            kind,
            channel,
            pattern,
            payload,
        } => {
            d.set_item("type", format!("{}message", prefix(kind)))?;
            d.set_item("pattern", pattern.map(|p| text(py, &p, decode)))?;
            d.set_item("channel", text(py, &channel, decode))?;
            d.set_item("data", text(py, &payload, decode))?;
        }
        PubSubItem::Subscribed { kind, name, count } => {
            d.set_item("type", format!("{}subscribe", prefix(kind)))?;
            d.set_item("pattern", &none)?;
            d.set_item("channel", text(py, &name, decode))?;
            d.set_item("data", count)?;
        }
        PubSubItem::Unsubscribed { kind, name, count } => {
            d.set_item("type", format!("{}unsubscribe", prefix(kind)))?;
            d.set_item("pattern", &none)?;
            d.set_item("channel", text(py, &name, decode))?;
            d.set_item("data", count)?;
        }
        PubSubItem::Resubscribed {
            subscriptions,
            interrupted_for,
        } => {
            d.set_item("type", "resubscribed")?;
            d.set_item("pattern", &none)?;
            d.set_item("channel", &none)?;
            let names = PyList::empty(py);
            for (k, n) in subscriptions {
                let kind = match k {
                    Kind::Pattern => "pattern",
                    Kind::Sharded => "sharded",
                    _ => "channel",
                };
                names.append(PyTuple::new(
                    py,
                    [kind.into_pyobject(py)?.into_any(), text(py, &n, decode)],
                )?)?;
            }
            d.set_item("data", names)?;
            d.set_item("interrupted_for", interrupted_for.as_secs_f64())?;
        }
        PubSubItem::Dropped { count } => {
            d.set_item("type", "dropped")?;
            d.set_item("pattern", &none)?;
            d.set_item("channel", &none)?;
            d.set_item("data", count)?;
        }
        _ => return Ok(py.None()),
    }
    Ok(d.into_any().unbind())
}

fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be None or a number >= 0, got {t}"
        ))),
    }
}

#[pymethods]
impl NativePubSub {
    /// Subscribes (`kind`: "channel", "pattern" or "sharded") and waits for the server's
    /// confirmation of each name.
    fn subscribe(&self, py: Python<'_>, kind: &str, names: Vec<Vec<u8>>) -> PyResult<()> {
        let (k, inner) = (self::kind(kind)?, self.inner.clone());
        py.detach(|| blocking::block_on(async move { inner.subscribe(k, names).await }))
            .map_err(|e| errors::to_py(py, &e))
    }

    /// `subscribe`, as an awaitable.
    fn subscribe_async<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        names: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (k, inner) = (self::kind(kind)?, self.inner.clone());
        asyncio::future(py, async move {
            let r = inner.subscribe(k, names).await;
            Deferred::new(move |py| {
                r.map_err(|e| errors::to_py(py, &e))?;
                Ok(py.None())
            })
        })
    }

    /// Drops subscriptions (every one of `kind` when `names` is empty).
    fn unsubscribe(&self, py: Python<'_>, kind: &str, names: Vec<Vec<u8>>) -> PyResult<()> {
        let (k, inner) = (self::kind(kind)?, self.inner.clone());
        py.detach(|| blocking::block_on(async move { inner.unsubscribe(k, names).await }))
            .map_err(|e| errors::to_py(py, &e))
    }

    /// `unsubscribe`, as an awaitable.
    fn unsubscribe_async<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        names: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (k, inner) = (self::kind(kind)?, self.inner.clone());
        asyncio::future(py, async move {
            let r = inner.unsubscribe(k, names).await;
            Deferred::new(move |py| {
                r.map_err(|e| errors::to_py(py, &e))?;
                Ok(py.None())
            })
        })
    }

    /// The next item as a dict, waiting up to `timeout` seconds (None: until one comes);
    /// None when nothing came in time. Raises `ClosedError` once closed and drained. Waits in
    /// short steps so Ctrl-C (a signal) is seen.
    #[pyo3(signature = (timeout=None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let deadline = seconds(timeout)?.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(item) = self.inner.try_next().map_err(|e| errors::to_py(py, &e))? {
                return to_dict(py, item, self.decode);
            }
            let step = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()),
                None => Duration::from_millis(100),
            }
            .min(Duration::from_millis(100));
            if step.is_zero() {
                return Ok(py.None());
            }
            let inner = self.inner.clone();
            let got = py.detach(|| {
                blocking::block_on(
                    async move { Ok(tokio::time::timeout(step, inner.next()).await) },
                )
            });
            match got {
                Ok(Ok(Some(item))) => return to_dict(py, item, self.decode),
                Ok(Ok(None)) => {
                    return Err(errors::to_py(py, &closed()));
                }
                Ok(Err(_)) => py.check_signals()?,
                Err(e) => return Err(errors::to_py(py, &e)),
            }
        }
    }

    /// `get`, as an awaitable.
    #[pyo3(signature = (timeout=None))]
    fn get_async<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let timeout = seconds(timeout)?;
        let (inner, decode) = (self.inner.clone(), self.decode);
        asyncio::future(py, async move {
            let got = match timeout {
                Some(t) => tokio::time::timeout(t, inner.next()).await.ok(),
                None => Some(inner.next().await),
            };
            Deferred::new(move |py| match got {
                None => Ok(py.None()),
                Some(None) => Err(errors::to_py(py, &closed())),
                Some(Some(item)) => to_dict(py, item, decode),
            })
        })
    }

    /// Subscriptions held.
    #[getter]
    fn subscription_count(&self) -> usize {
        self.inner.subscription_count()
    }

    /// Closes the connections; queued items can still be read. Idempotent.
    fn close(&self) {
        self.inner.close();
    }
}

fn closed() -> slotwise::Error {
    slotwise::Error::new(
        slotwise::ErrorKind::Closed,
        slotwise::Outcome::NotRun,
        "the pub/sub is closed",
    )
}
