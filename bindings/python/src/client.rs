//! `NativeClient`: the core client behind `slotwise.Client` and `slotwise.AsyncClient`. Each
//! method converts its arguments, calls the core (blocking calls with the GIL released, async
//! calls as asyncio futures) and converts the result back.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use slotwise::blocking;

use crate::asyncio::{self, Deferred};
use crate::{
    callbacks, convert, errors, gate, logging, options, pipeline, pubsub, report, scan, topology,
    transaction,
};

/// One connected client. Thread-safe: share it between threads freely.
#[pyclass(frozen, module = "slotwise._slotwise")]
#[derive(Debug)]
pub struct NativeClient {
    inner: blocking::Client,
    decode: bool,
}

fn wrap(
    py: Python<'_>,
    r: slotwise::Result<slotwise::Client>,
    decode: bool,
) -> PyResult<Py<PyAny>> {
    let inner = blocking::Client::from(r.map_err(|e| errors::to_py(py, &e))?);
    Ok(Py::new(py, NativeClient { inner, decode })?.into_any())
}

#[pymethods]
impl NativeClient {
    /// Connects to a cluster through any of `seeds` (`"host:port"` strings).
    #[staticmethod]
    #[pyo3(signature = (seeds, options=None))]
    fn cluster(
        py: Python<'_>,
        seeds: Vec<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let p = options::parse(options, true)?;
        logging::refresh_level(py);
        let r = py.detach(|| blocking::block_on(slotwise::Client::cluster(&seeds, p.options)));
        wrap(py, r, p.decode)
    }

    /// Connects to one server at `address` (`"host:port"`).
    #[staticmethod]
    #[pyo3(signature = (address, options=None))]
    fn standalone(
        py: Python<'_>,
        address: String,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let p = options::parse(options, false)?;
        logging::refresh_level(py);
        let r = py.detach(|| blocking::block_on(slotwise::Client::standalone(&address, p.options)));
        wrap(py, r, p.decode)
    }

    /// Connects to the master the sentinels name for `service_name`, and follows it.
    #[staticmethod]
    #[pyo3(signature = (sentinels, service_name, options=None))]
    fn sentinel(
        py: Python<'_>,
        sentinels: Vec<String>,
        service_name: String,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let p = options::parse(options, false)?;
        logging::refresh_level(py);
        let r = py.detach(|| {
            blocking::block_on(slotwise::Client::sentinel(
                &sentinels,
                &service_name,
                p.options,
            ))
        });
        wrap(py, r, p.decode)
    }

    /// `sentinel`, as an awaitable.
    #[staticmethod]
    #[pyo3(signature = (sentinels, service_name, options=None))]
    fn sentinel_async<'py>(
        py: Python<'py>,
        sentinels: Vec<String>,
        service_name: String,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = options::parse(options, false)?;
        logging::refresh_level(py);
        asyncio::future(py, async move {
            let r = slotwise::Client::sentinel(&sentinels, &service_name, p.options).await;
            Deferred::new(move |py| wrap(py, r, p.decode))
        })
    }

    /// `cluster`, as an awaitable.
    #[staticmethod]
    #[pyo3(signature = (seeds, options=None))]
    fn cluster_async<'py>(
        py: Python<'py>,
        seeds: Vec<String>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = options::parse(options, true)?;
        logging::refresh_level(py);
        asyncio::future(py, async move {
            let r = slotwise::Client::cluster(&seeds, p.options).await;
            Deferred::new(move |py| wrap(py, r, p.decode))
        })
    }

    /// `standalone`, as an awaitable.
    #[staticmethod]
    #[pyo3(signature = (address, options=None))]
    fn standalone_async<'py>(
        py: Python<'py>,
        address: String,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = options::parse(options, false)?;
        logging::refresh_level(py);
        asyncio::future(py, async move {
            let r = slotwise::Client::standalone(&address, p.options).await;
            Deferred::new(move |py| wrap(py, r, p.decode))
        })
    }

    /// Whether replies are decoded to `str`.
    #[getter]
    fn decode_responses(&self) -> bool {
        self.decode
    }

    /// Runs one command (a tuple of arguments) and returns its reply.
    fn execute(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let cmd = convert::to_cmd(args)?;
        let r = py.detach(|| self.inner.execute(cmd));
        convert::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, self.decode)
    }

    /// `execute`, as an awaitable.
    fn execute_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmd = convert::to_cmd(args)?;
        let client = self.core(py)?;
        let decode = self.decode;
        asyncio::future(py, async move {
            let r = client.execute(cmd).await;
            Deferred::new(move |py| {
                convert::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, decode)
            })
        })
    }

    /// Runs a list of argument tuples as one pipeline; a failed command's exception instance
    /// stands in its place.
    fn pipeline(&self, py: Python<'_>, cmds: &Bound<'_, PyList>) -> PyResult<Py<PyAny>> {
        let cmds = pipeline::to_cmds(cmds)?;
        let r = py.detach(|| self.inner.pipeline(cmds));
        pipeline::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, self.decode)
    }

    /// `pipeline`, as an awaitable.
    fn pipeline_async<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmds = pipeline::to_cmds(cmds)?;
        let client = self.core(py)?;
        let decode = self.decode;
        asyncio::future(py, async move {
            let mut p = client.pipeline();
            for c in cmds {
                p.add(c);
            }
            let replies = p.execute().await;
            Deferred::new(move |py| pipeline::to_py(py, replies, decode))
        })
    }

    /// The topology in use, as plain dicts (no I/O).
    fn topology<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let client = self.core(py)?;
        topology::to_py(py, &client.topology(), client.topology_version())
    }

    /// Re-reads the cluster topology now and waits for it.
    fn refresh_topology(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.refresh_topology())
            .map_err(|e| errors::to_py(py, &e))
    }

    /// `refresh_topology`, as an awaitable.
    fn refresh_topology_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.core(py)?;
        asyncio::future(py, async move {
            let r = client.refresh_topology().await;
            Deferred::new(move |py| {
                r.map_err(|e| errors::to_py(py, &e))?;
                Ok(py.None())
            })
        })
    }

    /// Proves every primary accepts a write; a report dict (see `report::health`).
    fn health_check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let client = self.core(py)?;
        let r = py.detach(|| blocking::block_on(client.health_check()));
        report::health(py, &r.map_err(|e| errors::to_py(py, &e))?)
    }

    /// `health_check`, as an awaitable.
    fn health_check_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.core(py)?;
        asyncio::future(py, async move {
            let r = client.health_check().await;
            Deferred::new(move |py| {
                Ok(report::health(py, &r.map_err(|e| errors::to_py(py, &e))?)?
                    .into_any()
                    .unbind())
            })
        })
    }

    /// Starts a scan of every key (every primary in turn), `MATCH pattern` / `COUNT count`.
    #[pyo3(signature = (pattern=None, count=None))]
    fn scan(
        &self,
        py: Python<'_>,
        pattern: Option<Vec<u8>>,
        count: Option<u64>,
    ) -> PyResult<scan::NativeScan> {
        let client = self.core(py)?;
        Ok(scan::NativeScan::new(
            client.scan(pattern.as_deref(), count),
            self.decode,
        ))
    }

    /// Starts a MULTI/EXEC transaction (see `NativeTransaction`).
    fn transaction(&self, py: Python<'_>) -> PyResult<transaction::NativeTransaction> {
        Ok(transaction::NativeTransaction::new(
            self.core(py)?.transaction(),
            self.decode,
        ))
    }

    /// Runs a Lua script by SHA-1 (EVALSHA), loading it on the node that answers NOSCRIPT.
    /// `body` is a 1-tuple (str or bytes); `keys` and `args` tuples of arguments.
    fn run_script(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyTuple>,
        keys: &Bound<'_, PyTuple>,
        args: &Bound<'_, PyTuple>,
        read_only: bool,
    ) -> PyResult<Py<PyAny>> {
        let (script, keys, args) = transaction::script_call(body, keys, args, read_only)?;
        let client = self.core(py)?;
        let r = py.detach(|| blocking::block_on(client.run_script(&script, &keys, &args)));
        convert::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, self.decode)
    }

    /// `run_script`, as an awaitable.
    fn run_script_async<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyTuple>,
        keys: &Bound<'py, PyTuple>,
        args: &Bound<'py, PyTuple>,
        read_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (script, keys, args) = transaction::script_call(body, keys, args, read_only)?;
        let (client, decode) = (self.core(py)?, self.decode);
        asyncio::future(py, async move {
            let r = client.run_script(&script, &keys, &args).await;
            Deferred::new(move |py| {
                convert::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, decode)
            })
        })
    }

    /// A pub/sub session on its own connections (no I/O until the first subscribe).
    fn pubsub(&self, py: Python<'_>) -> PyResult<pubsub::NativePubSub> {
        let client = self.core(py)?;
        // Its supervisor task lives on the core's runtime.
        let _guard = blocking::runtime().enter();
        let ps = client.pubsub().map_err(|e| errors::to_py(py, &e))?;
        Ok(pubsub::NativePubSub::new(ps, self.decode))
    }

    /// The core's counters (no I/O).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let client = self.core(py)?;
        report::metrics(py, &client.metrics())
    }

    /// Calls `callback(event_dict)` for every event from now on, on a background thread (never
    /// the caller's). An exception in the callback is logged on the `slotwise` logger and
    /// ignored: it cannot break the client.
    fn on_event(&self, py: Python<'_>, callback: Py<PyAny>) -> PyResult<()> {
        if !callback.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "on_event needs a callable",
            ));
        }
        let mut events = self.core(py)?.events();
        let callback = std::sync::Arc::new(callback);
        blocking::runtime().spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let e = match events.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "on_event callback too slow; events dropped");
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                };
                let callback = callback.clone();
                // The GIL is taken on a blocking thread, never on a core worker.
                let _ = tokio::task::spawn_blocking(move || {
                    gate::with_python(|py| {
                        let called = report::event(py, &e).and_then(|d| callback.call1(py, (d,)));
                        if let Err(err) = called {
                            callbacks::report(py, "on_event", err);
                        }
                    })
                })
                .await;
            }
        });
        Ok(())
    }

    /// New connections authenticate as `username` with `password` (rotation; open ones stay).
    #[pyo3(signature = (username, password))]
    fn update_credentials(
        &self,
        py: Python<'_>,
        username: Option<String>,
        password: String,
    ) -> PyResult<()> {
        self.core(py)?
            .update_credentials(username.as_deref(), &password)
            .map_err(|e| errors::to_py(py, &e))
    }

    /// Closes every connection; later calls raise `ClosedError`. Idempotent.
    fn close(&self) {
        self.inner.close();
    }
}

impl NativeClient {
    /// The core client for an async call (fails in a forked child).
    fn core(&self, py: Python<'_>) -> PyResult<slotwise::Client> {
        self.inner
            .client()
            .cloned()
            .map_err(|e| errors::to_py(py, &e))
    }
}
