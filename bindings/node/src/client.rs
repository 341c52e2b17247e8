//! `NativeClient`: the core client behind the JavaScript `Client`. Each method converts its
//! arguments, spawns the core call on the one runtime and returns at once; the result comes
//! back through the client's completion function `complete(id, ok, value)` (one weak
//! threadsafe function per client, so an idle client never keeps the process alive; the JS
//! side keeps the event loop alive while calls are pending).

use std::sync::Arc;

use napi::bindgen_prelude::{Either, FnArgs, Function, Object};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Result, Status};
use napi_derive::napi;
use slotwise::blocking::runtime;
use tokio::task::AbortHandle;

use crate::convert::{self, Arg, Ctx, Out, Reply};
use crate::options::{self, NativeOptions, RemapFn, ResolverFn};
use crate::{errors, events, pipeline, pubsub, topology};

/// `complete(id, ok, value)`: `value` is the reply, or the error when `ok` is false.
pub type CompleteFn<'e> = Function<'e, FnArgs<(u32, bool, Out)>, ()>;
pub type Completer =
    ThreadsafeFunction<(u32, Reply), (), FnArgs<(u32, bool, Out)>, Status, false, true>;

/// The JS functions a client reports through.
#[napi(object)]
pub struct Hooks<'e> {
    #[napi(ts_type = "(id: number, ok: boolean, value: unknown) => void")]
    pub complete: CompleteFn<'e>,
    #[napi(ts_type = "(name: string, payload: object) => void")]
    pub emit: events::EmitFn<'e>,
    #[napi(
        ts_type = "(code: string, numericCode: number, message: string, mayHaveRun: boolean) => Error"
    )]
    pub make_error: errors::FactoryFn<'e>,
    #[napi(ts_type = "(address: string) => string | null | undefined")]
    pub address_remap: Option<RemapFn<'e>>,
    #[napi(ts_type = "(address: string) => string[]")]
    pub resolver: Option<ResolverFn<'e>>,
}

/// One cluster-wide scan in progress (see `scanStart`).
#[napi]
#[derive(Debug)]
pub struct NativeScan {
    inner: Arc<tokio::sync::Mutex<slotwise::Scan>>,
}

/// One connected client. Create it with `connect`.
#[napi]
pub struct NativeClient {
    inner: slotwise::Client,
    done: Arc<Completer>,
    ctx: Arc<Ctx>,
    events: Option<AbortHandle>,
}

/// Connects (`mode`: `'cluster' | 'standalone' | 'sentinel'`) and resolves to the client, or
/// to the error instance (the promise never rejects, so the JS side throws its own class).
#[napi(ts_return_type = "Promise<NativeClient | Error>")]
pub fn connect<'e>(
    env: &'e Env,
    mode: String,
    addresses: Vec<String>,
    service_name: Option<String>,
    options: NativeOptions,
    hooks: Hooks<'e>,
) -> Result<Object<'e>> {
    let buffers = options.return_buffers.unwrap_or(false);
    let opts = options::build(options, hooks.address_remap, hooks.resolver)?;
    let ctx = Arc::new(Ctx {
        factory: hooks.make_error.create_ref()?,
        buffers,
    });
    let done = Arc::new(completer(&hooks.complete, ctx.clone())?);
    let emitter = events::emitter(&hooks.emit, ctx.clone())?;
    let client_ctx = ctx.clone();
    let (deferred, promise) = env.create_deferred()?;
    runtime().spawn(async move {
        let r = match mode.as_str() {
            "cluster" => slotwise::Client::cluster(&addresses, opts).await,
            "standalone" => match addresses.first() {
                Some(a) => slotwise::Client::standalone(a, opts).await,
                None => Err(slotwise::Error::invalid("an address is needed")),
            },
            _ => {
                let service = service_name.unwrap_or_default();
                slotwise::Client::sentinel(&addresses, &service, opts).await
            }
        };
        let r = r
            .map(|inner| NativeClient {
                events: Some(events::spawn(inner.events(), emitter)),
                inner,
                done,
                ctx: client_ctx,
            })
            .map_err(|e| Out {
                reply: Reply::Unit(Err(e)),
                ctx,
            });
        deferred.resolve(move |_env| {
            Ok(match r {
                Ok(c) => Either::A(c),
                Err(e) => Either::B(e),
            })
        });
    });
    Ok(promise)
}

fn completer(complete: &CompleteFn<'_>, ctx: Arc<Ctx>) -> Result<Completer> {
    complete
        .build_threadsafe_function::<(u32, Reply)>()
        .weak::<true>()
        .build_callback(move |call| {
            let (id, reply) = call.value;
            let ok = reply.ok();
            Ok((
                id,
                ok,
                Out {
                    reply,
                    ctx: ctx.clone(),
                },
            )
                .into())
        })
}

#[napi]
impl NativeClient {
    /// The core client (for the other files of the addon).
    pub(crate) fn core(&self) -> &slotwise::Client {
        &self.inner
    }

    pub(crate) fn finish(
        &self,
        id: u32,
        fut: impl std::future::Future<Output = Reply> + Send + 'static,
    ) {
        let done = self.done.clone();
        runtime().spawn(async move {
            let reply = fut.await;
            // Closing: the JS environment is gone (process exit); nobody waits any more.
            let _ = done.call((id, reply), ThreadsafeFunctionCallMode::NonBlocking);
        });
    }

    /// Runs one command; completes `id` with its reply.
    #[napi(ts_args_type = "id: number, args: Array<string | Buffer>")]
    pub fn execute(&self, id: u32, args: Vec<Arg<'_>>) {
        let cmd = convert::to_cmd(args);
        let c = self.inner.clone();
        self.finish(id, async move { Reply::Value(c.execute(cmd).await) });
    }

    /// Runs commands as one pipeline; completes `id` with the replies in order.
    #[napi(ts_args_type = "id: number, cmds: Array<Array<string | Buffer>>")]
    pub fn pipeline(&self, id: u32, cmds: Vec<Vec<Arg<'_>>>) {
        let mut p = self.inner.pipeline();
        for c in pipeline::to_cmds(cmds) {
            p.add(c);
        }
        self.finish(id, async move { Reply::Pipeline(p.execute().await) });
    }

    /// Proves every primary accepts a write; completes `id` with the report.
    #[napi]
    pub fn health_check(&self, id: u32) {
        let c = self.inner.clone();
        self.finish(id, async move { Reply::Health(c.health_check().await) });
    }

    /// Starts a scan of every key (every primary in turn), `MATCH pattern` / `COUNT count`.
    #[napi]
    pub fn scan_start(&self, pattern: Option<String>, count: Option<u32>) -> NativeScan {
        NativeScan {
            inner: Arc::new(tokio::sync::Mutex::new(
                self.inner
                    .scan(pattern.as_deref().map(str::as_bytes), count.map(u64::from)),
            )),
        }
    }

    /// Completes `id` with the scan's next page of keys, or null when every primary is done.
    #[napi]
    pub fn scan_next(&self, id: u32, scan: &NativeScan) {
        let s = scan.inner.clone();
        self.finish(id, async move {
            let page = s.lock().await.next_page().await;
            Reply::Value(page.map(|p| {
                p.map(slotwise::Value::Array)
                    .unwrap_or(slotwise::Value::Nil)
            }))
        });
    }

    /// Re-reads the topology now; completes `id` when done.
    #[napi]
    pub fn refresh_topology(&self, id: u32) {
        let c = self.inner.clone();
        self.finish(id, async move { Reply::Unit(c.refresh_topology().await) });
    }

    /// A pub/sub session reporting through `emit(name, payload)` (see `pubsub.rs`).
    #[napi(ts_args_type = "emit: (name: string, payload: object) => void")]
    pub fn pubsub(&self, emit: pubsub::EmitFn<'_>) -> Result<pubsub::NativePubSub> {
        pubsub::open(&self.inner, &emit, self.ctx.clone(), self.done.clone())
    }

    /// The topology in use (a snapshot, no I/O).
    #[napi]
    pub fn topology(&self) -> topology::TopologyView {
        topology::view(&self.inner.topology(), self.inner.topology_version())
    }

    /// What the client did to follow the deployment.
    #[napi]
    pub fn metrics(&self) -> topology::MetricsView {
        topology::metrics(self.inner.metrics())
    }

    /// New connections authenticate as `username` with `password` (rotation; open ones stay).
    #[napi]
    pub fn update_credentials(&self, username: Option<String>, password: String) -> Result<()> {
        self.inner
            .update_credentials(username.as_deref(), &password)
            .map_err(|e| napi::Error::new(napi::Status::GenericFailure, e.to_string()))
    }

    /// Closes every connection and stops the events; later calls fail with CLOSED.
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
        if let Some(h) = self.events.take() {
            h.abort();
        }
    }
}

impl Drop for NativeClient {
    /// A client collected without `close()`: stop its events; the core closes its connections
    /// when the last call in flight lets go of it.
    fn drop(&mut self) {
        if let Some(h) = self.events.take() {
            h.abort();
        }
    }
}

impl std::fmt::Debug for NativeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeClient")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
