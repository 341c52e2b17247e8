//! Options from `lib/options.js` (already validated there, with TypeError/RangeError messages
//! naming the option) → `slotwise::Options`; and the two JavaScript callbacks the core calls
//! synchronously: `addressRemap(addr)` and `resolver(addr)`.
//!
//! The core calls them on one of its own threads and needs the answer at once. The call is
//! queued to the JS thread through a weak threadsafe function and the core thread waits for
//! the answer (inside `block_in_place`, so the runtime's other tasks move to another worker),
//! at most `connectTimeout`: a JS thread that is busy, or gone at exit, costs one connect
//! attempt that timeout, never a hang. A callback that throws or returns something else than
//! documented counts as "no answer" (remap: keep the address; resolver: an error the core
//! reports with the other sources' errors).

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use napi::bindgen_prelude::{FromNapiValue, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};
use napi_derive::napi;
use slotwise::{Addr, Options, Protocol, ReadFrom, TlsOptions};

/// The options `lib/options.js` hands over (milliseconds for durations).
#[napi(object)]
#[derive(Debug, Default)]
pub struct NativeOptions {
    pub request_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub sentinel_username: Option<String>,
    pub sentinel_password: Option<String>,
    pub client_name: Option<String>,
    pub db: Option<u32>,
    pub protocol: Option<u32>,
    /// `'primary' | 'preferReplica' | 'replicasRoundRobin' | 'lowestLatency'`.
    pub read_from: Option<String>,
    /// The object form of `addressRemap`: `{ "announced:port": "connect:port" }`.
    pub address_map: Option<HashMap<String, String>>,
    pub return_buffers: Option<bool>,
    /// Set (possibly empty) when TLS is on.
    pub tls: Option<NativeTls>,
    pub pubsub_queue: Option<u32>,
    /// Milliseconds; 0 turns the heartbeat off.
    pub pubsub_heartbeat: Option<f64>,
}

/// `tls: { caFile, certFile, keyFile, serverName, insecureSkipVerify }` (checked in JS).
#[napi(object)]
#[derive(Debug, Default)]
pub struct NativeTls {
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: Option<bool>,
}

/// `addressRemap(addr)`: `"host:port"` to connect to instead, or `null` to keep `addr`.
pub type RemapFn<'e> = Function<'e, String, Option<String>>;
/// `resolver(addr)`: the `"host:port"` addresses to try for a startup address.
pub type ResolverFn<'e> = Function<'e, String, Vec<String>>;

fn invalid(msg: String) -> napi::Error {
    napi::Error::new(Status::InvalidArg, msg)
}

fn addr(what: &str, s: &str) -> Result<Addr> {
    Addr::parse(s).map_err(|e| invalid(format!("{what}: {}", e.message())))
}

fn ms(d: f64) -> Duration {
    Duration::from_secs_f64(d / 1000.0)
}

/// Builds the core options; must run on the JS thread (it creates threadsafe functions).
pub fn build(
    n: NativeOptions,
    remap: Option<RemapFn<'_>>,
    resolver: Option<ResolverFn<'_>>,
) -> Result<Options> {
    let mut o = Options::default();
    if let Some(d) = n.request_timeout {
        o = o.with_request_timeout(ms(d));
    }
    if let Some(d) = n.connect_timeout {
        o = o.with_connect_timeout(ms(d));
    }
    if let Some(q) = n.pubsub_queue {
        o = o.with_pubsub_queue(q as usize);
    }
    if let Some(d) = n.pubsub_heartbeat {
        o = o.with_pubsub_heartbeat(ms(d));
    }
    o.username = n.username;
    o.password = n.password;
    o.sentinel_username = n.sentinel_username;
    o.sentinel_password = n.sentinel_password;
    o.client_name = n.client_name;
    o.db = n.db.unwrap_or(0);
    o.protocol = match n.protocol {
        Some(2) => Protocol::Resp2,
        _ => Protocol::Resp3,
    };
    o.read_from = match n.read_from.as_deref() {
        None | Some("primary") => ReadFrom::Primary,
        Some("preferReplica") => ReadFrom::PreferReplica,
        Some("replicasRoundRobin") => ReadFrom::ReplicasRoundRobin,
        Some("lowestLatency") => ReadFrom::LowestLatency,
        Some(other) => return Err(invalid(format!("unknown readFrom {other:?}"))),
    };
    o.tls = n.tls.map(|t| {
        let mut tls = TlsOptions::default();
        tls.ca_file = t.ca_file.map(Into::into);
        tls.client_cert_file = t.cert_file.map(Into::into);
        tls.client_key_file = t.key_file.map(Into::into);
        tls.server_name = t.server_name;
        tls.insecure_skip_verify = t.insecure_skip_verify.unwrap_or(false);
        tls
    });
    for (from, to) in n.address_map.unwrap_or_default() {
        o = o.with_address_map(addr("addressRemap", &from)?, addr("addressRemap", &to)?);
    }
    let wait = o.connect_timeout;
    if let Some(f) = remap {
        let cb = SyncCall::new(&f, "addressRemap", wait)?;
        o = o.with_address_remap(move |a: &Addr| {
            cb.call(a.to_string())
                .ok()
                .flatten()
                .and_then(|s| Addr::parse(&s).ok())
        });
    }
    if let Some(f) = resolver {
        let cb = SyncCall::new(&f, "resolver", wait)?;
        o = o.with_resolver(move |a: &Addr| {
            cb.call(a.to_string())?
                .iter()
                .map(|s| Addr::parse(s).map_err(|e| e.message().to_owned()))
                .collect()
        });
    }
    Ok(o)
}

/// A JS function of one string argument that a core thread calls and waits for.
struct SyncCall<R: 'static + FromNapiValue> {
    tsfn: ThreadsafeFunction<String, R, String, Status, false, true>,
    js_thread: ThreadId,
    what: &'static str,
    wait: Duration,
}

impl<R: 'static + FromNapiValue + Send> SyncCall<R> {
    fn new(f: &Function<'_, String, R>, what: &'static str, wait: Duration) -> Result<Self> {
        Ok(SyncCall {
            tsfn: f
                .build_threadsafe_function::<String>()
                .weak::<true>()
                .build()?,
            js_thread: thread::current().id(),
            what,
            wait,
        })
    }

    fn call(&self, arg: String) -> std::result::Result<R, String> {
        if thread::current().id() == self.js_thread {
            // Waiting here for the JS thread would wait for ourselves.
            return Err(format!("{} cannot be called on the JS thread", self.what));
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let status = self.tsfn.call_with_return_value(
            arg,
            ThreadsafeFunctionCallMode::NonBlocking,
            move |r: Result<R>, _env| {
                let _ = tx.send(r.map_err(|e| e.reason.clone()));
                Ok(())
            },
        );
        if status != Status::Ok {
            return Err(format!("{} is unavailable ({status})", self.what));
        }
        let recv = || rx.recv_timeout(self.wait);
        let answer = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(recv)
            }
            _ => recv(),
        };
        match answer {
            Ok(r) => r.map_err(|e| format!("{} failed: {e}", self.what)),
            Err(_) => Err(format!(
                "{} did not answer within {:?}",
                self.what, self.wait
            )),
        }
    }
}
