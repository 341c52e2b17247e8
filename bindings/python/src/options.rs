//! Keyword options → `slotwise::Options`, with the checks Python users expect: a `TypeError`
//! naming the option for an unknown name or a wrong type, a `ValueError` for a value that
//! cannot work. The names are the core's `Options` field names, plus `decode_responses`
//! (a binding concern: how replies are converted).

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use slotwise::{Options, Protocol, ReadFrom, TlsOptions};

use crate::callbacks;

/// Every accepted name, for error messages.
const NAMES: &[&str] = &[
    "request_timeout",
    "connect_timeout",
    "username",
    "password",
    "client_name",
    "db",
    "protocol",
    "decode_responses",
    "max_inflight",
    "max_redirects",
    "refresh_interval",
    "min_refresh_gap",
    "read_from",
    "address_remap",
    "resolver",
    "retry_unsafe_writes",
    "probe_interval",
    "topology_query_timeout",
    "sentinel_username",
    "sentinel_password",
    "sentinel_poll_interval",
    "sentinel_subscribe",
    "failover_fence_timeout",
    "tls",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
    "tls_insecure_skip_verify",
    "pubsub_queue",
    "pubsub_heartbeat",
];

/// Longest accepted duration option: anything longer is a unit mistake, not a wish.
const MAX_SECONDS: f64 = 86_400.0;

/// Options parsed from keyword arguments.
#[derive(Debug)]
pub struct Parsed {
    pub options: Options,
    pub decode: bool,
}

pub fn parse(kwargs: Option<&Bound<'_, PyDict>>, cluster: bool) -> PyResult<Parsed> {
    let mut o = Options::default();
    let mut decode = false;
    let Some(kwargs) = kwargs else {
        return Ok(Parsed { options: o, decode });
    };
    // `tls=True` or any `tls_*` option turns TLS on; `tls=False` with `tls_*` is a mistake.
    let mut tls_on: Option<bool> = None;
    let mut tls: Option<TlsOptions> = None;
    for (k, v) in kwargs.iter() {
        let name: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err("option names must be str"))?;
        match name.as_str() {
            "request_timeout" => o.request_timeout = seconds(&name, &v, false)?,
            "connect_timeout" => o.connect_timeout = seconds(&name, &v, false)?,
            "refresh_interval" => o.refresh_interval = seconds(&name, &v, false)?,
            "min_refresh_gap" => o.min_refresh_gap = seconds(&name, &v, true)?,
            "username" => o.username = text(&name, &v)?,
            "password" => o.password = text(&name, &v)?,
            "client_name" => {
                o.client_name = text(&name, &v)?;
                if o.client_name
                    .as_deref()
                    .is_some_and(|n| n.contains(char::is_whitespace))
                {
                    return Err(PyValueError::new_err(
                        "option client_name must not contain spaces or newlines",
                    ));
                }
            }
            "db" => {
                o.db = int(&name, &v, 0, u32::MAX.into())? as u32;
                if cluster && o.db != 0 {
                    return Err(PyValueError::new_err(
                        "option db must be 0 in cluster mode (Redis Cluster has only database 0)",
                    ));
                }
            }
            "protocol" => {
                o.protocol = match int(&name, &v, 2, 3)? {
                    2 => Protocol::Resp2,
                    _ => Protocol::Resp3,
                }
            }
            "max_inflight" => o.max_inflight = int(&name, &v, 1, 1 << 24)? as usize,
            "pubsub_queue" => o.pubsub_queue = int(&name, &v, 1, 1 << 30)? as usize,
            "pubsub_heartbeat" => o.pubsub_heartbeat = seconds(&name, &v, true)?,
            "max_redirects" => o.max_redirects = int(&name, &v, 0, 1000)? as usize,
            "decode_responses" => decode = flag(&name, &v)?,
            "retry_unsafe_writes" => o.retry_unsafe_writes = flag(&name, &v)?,
            "sentinel_subscribe" => o.sentinel_subscribe = flag(&name, &v)?,
            "probe_interval" => o.probe_interval = seconds(&name, &v, false)?,
            "topology_query_timeout" => o.topology_query_timeout = seconds(&name, &v, false)?,
            "sentinel_poll_interval" => o.sentinel_poll_interval = seconds(&name, &v, false)?,
            "failover_fence_timeout" => o.failover_fence_timeout = seconds(&name, &v, false)?,
            "sentinel_username" => o.sentinel_username = text(&name, &v)?,
            "sentinel_password" => o.sentinel_password = text(&name, &v)?,
            "tls" => tls_on = Some(flag(&name, &v)?),
            "tls_ca_file" => tls.get_or_insert_default().ca_file = text(&name, &v)?.map(Into::into),
            "tls_cert_file" => {
                tls.get_or_insert_default().client_cert_file = text(&name, &v)?.map(Into::into)
            }
            "tls_key_file" => {
                tls.get_or_insert_default().client_key_file = text(&name, &v)?.map(Into::into)
            }
            "tls_server_name" => tls.get_or_insert_default().server_name = text(&name, &v)?,
            "tls_insecure_skip_verify" => {
                tls.get_or_insert_default().insecure_skip_verify = flag(&name, &v)?
            }
            "address_remap" => callbacks::remap(&mut o, &v)?,
            "resolver" => callbacks::resolver(&mut o, &v)?,
            "read_from" => {
                let policy = text(&name, &v)?.unwrap_or_default();
                o.read_from = match policy.as_str() {
                    "primary" => ReadFrom::Primary,
                    "prefer_replica" => ReadFrom::PreferReplica,
                    "replicas_round_robin" => ReadFrom::ReplicasRoundRobin,
                    "lowest_latency" => ReadFrom::LowestLatency,
                    _ => {
                        return Err(PyValueError::new_err(format!(
                            "option read_from must be 'primary', 'prefer_replica', \
                             'replicas_round_robin' or 'lowest_latency', got '{policy}'"
                        )))
                    }
                }
            }
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "unknown option '{name}'; known options: {}",
                    NAMES.join(", ")
                )))
            }
        }
    }
    o.tls = match (tls_on, tls) {
        (Some(false), Some(_)) => {
            return Err(PyValueError::new_err(
                "option tls=False contradicts the tls_* options given",
            ))
        }
        (Some(false), None) | (None, None) => None,
        (_, t) => Some(t.unwrap_or_default()),
    };
    Ok(Parsed { options: o, decode })
}

fn wrong_type(name: &str, want: &str, v: &Bound<'_, PyAny>) -> PyErr {
    let ty = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyTypeError::new_err(format!("option {name} must be {want}, not {ty}"))
}

fn seconds(name: &str, v: &Bound<'_, PyAny>, zero_ok: bool) -> PyResult<Duration> {
    let is_number = !v.is_instance_of::<PyBool>()
        && (v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>());
    if !is_number {
        return Err(wrong_type(name, "a number of seconds (int or float)", v));
    }
    let s: f64 = v.extract()?;
    let ok = s.is_finite() && s <= MAX_SECONDS && (s > 0.0 || (zero_ok && s == 0.0));
    if !ok {
        let lower = if zero_ok { ">= 0" } else { "> 0" };
        return Err(PyValueError::new_err(format!(
            "option {name} must be {lower} and at most {MAX_SECONDS} seconds, got {s}"
        )));
    }
    let d = Duration::from_secs_f64(s);
    if d.is_zero() && !zero_ok {
        return Err(PyValueError::new_err(format!(
            "option {name} is below one nanosecond"
        )));
    }
    Ok(d)
}

fn flag(name: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(v.cast::<PyBool>()
        .map_err(|_| wrong_type(name, "a bool", v))?
        .is_true())
}

fn text(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if v.is_none() {
        return Ok(None);
    }
    let s = v
        .cast::<PyString>()
        .map_err(|_| wrong_type(name, "a str or None", v))?;
    Ok(Some(s.to_cow()?.into_owned()))
}

fn int(name: &str, v: &Bound<'_, PyAny>, min: i64, max: i64) -> PyResult<i64> {
    if v.is_instance_of::<PyBool>() || !v.is_instance_of::<PyInt>() {
        return Err(wrong_type(name, "an int", v));
    }
    match v.extract::<i64>() {
        Ok(i) if (min..=max).contains(&i) => Ok(i),
        _ => Err(PyValueError::new_err(format!(
            "option {name} must be from {min} to {max}, got {v}"
        ))),
    }
}
