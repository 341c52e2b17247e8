//! `parse_url`: the core's URL parser, its result as a dict (`slotwise._url` adds the
//! Python option names of the query).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use slotwise::{ConnectionUrl, UrlMode};

/// `{"mode", "tls", "addresses", "service", "username", "password", "db", "query"}`; a
/// `ValueError` (never quoting the password) for a bad URL.
#[pyfunction]
pub fn parse_url<'py>(py: Python<'py>, url: &str) -> PyResult<Bound<'py, PyDict>> {
    let u = ConnectionUrl::parse(url).map_err(|e| PyValueError::new_err(e.message().to_owned()))?;
    let d = PyDict::new(py);
    let mode = match u.mode {
        UrlMode::Cluster => "cluster",
        UrlMode::Sentinel => "sentinel",
        _ => "standalone",
    };
    d.set_item("mode", mode)?;
    d.set_item("tls", u.tls)?;
    d.set_item("addresses", &u.addresses)?;
    d.set_item("service", &u.service_name)?;
    d.set_item("username", &u.username)?;
    d.set_item("password", &u.password)?;
    d.set_item("db", u.db)?;
    d.set_item("query", &u.query)?;
    Ok(d)
}
