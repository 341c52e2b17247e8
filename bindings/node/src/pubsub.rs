//! `NativePubSub`: the core's `PubSub` for the JavaScript `PubSub` (an EventEmitter). Items
//! are pushed to the JS thread through a threadsafe function that holds the process open
//! while the pub/sub is (as a subscriber socket would) and lets go at `close()`.
//!
//! | name | payload |
//! |---|---|
//! | `message`, `smessage` | `{ channel, message }` |
//! | `pmessage` | `{ pattern, channel, message }` |
//! | `subscribed`, `unsubscribed` | `{ kind, channel, count }` |
//! | `resubscribed` | `{ subscriptions: [{ kind, channel }], interruptedFor }` (ms) |
//! | `dropped` | `{ count }` |

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{BufferSlice, FnArgs, Function, Object, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Result, Status};
use napi_derive::napi;
use slotwise::pubsub::Kind;
use slotwise::{PubSub, PubSubItem};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

/// Items handed to the JS thread and not yet taken by it.
const IN_FLIGHT: usize = 256;

use crate::client::Completer;
use crate::convert::{self, Arg, Ctx, Out, Reply};

pub type EmitFn<'e> = Function<'e, FnArgs<(&'static str, Out)>, ()>;
type Emitter = ThreadsafeFunction<PubSubItem, (), FnArgs<(&'static str, Out)>, Status, false>;

/// One pub/sub session (see `Client.pubsub()` in lib/pubsub.js).
#[napi]
pub struct NativePubSub {
    inner: Arc<PubSub>,
    done: Arc<Completer>,
    pump: Option<AbortHandle>,
}

fn name(i: &PubSubItem) -> &'static str {
    match i {
        PubSubItem::Message { kind, .. } => match kind {
            Kind::Pattern => "pmessage",
            Kind::Sharded => "smessage",
            _ => "message",
        },
        PubSubItem::Subscribed { .. } => "subscribed",
        PubSubItem::Unsubscribed { .. } => "unsubscribed",
        PubSubItem::Resubscribed { .. } => "resubscribed",
        PubSubItem::Dropped { .. } => "dropped",
        _ => "unknown",
    }
}

fn kind(k: &str) -> Result<Kind> {
    match k {
        "channel" => Ok(Kind::Channel),
        "pattern" => Ok(Kind::Pattern),
        "sharded" => Ok(Kind::Sharded),
        _ => Err(napi::Error::from_reason(format!(
            "unknown subscription kind {k:?}"
        ))),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Pattern => "pattern",
        Kind::Sharded => "sharded",
        _ => "channel",
    }
}

fn names(args: Vec<Arg<'_>>) -> Vec<Bytes> {
    convert::to_cmd(args).args().to_vec()
}

/// Starts the pub/sub and the task that forwards its items to `emit`.
pub fn open(
    client: &slotwise::Client,
    emit: &EmitFn<'_>,
    ctx: Arc<Ctx>,
    done: Arc<Completer>,
) -> Result<NativePubSub> {
    let _guard = slotwise::blocking::runtime().enter();
    let inner = Arc::new(
        client
            .pubsub()
            .map_err(|e| napi::Error::from_reason(e.to_string()))?,
    );
    // At most IN_FLIGHT items wait in the threadsafe function's (unbounded) queue for the JS
    // thread: the backlog of a busy JS thread stays in the core's queue, bounded by the
    // pubsubQueue option, where overflow becomes one 'dropped' event instead of memory.
    let room = Arc::new(Semaphore::new(IN_FLIGHT));
    let freed = room.clone();
    let emitter: Emitter = emit
        .build_threadsafe_function::<PubSubItem>()
        .build_callback(move |call| {
            freed.add_permits(1);
            Ok((
                name(&call.value),
                Out {
                    reply: Reply::PubSub(call.value),
                    ctx: ctx.clone(),
                },
            )
                .into())
        })?;
    let ps = inner.clone();
    let pump = slotwise::blocking::runtime()
        .spawn(async move {
            loop {
                match room.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                let Some(item) = ps.next().await else { break };
                if emitter.call(item, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
                    break;
                }
            }
        })
        .abort_handle();
    Ok(NativePubSub {
        inner,
        done,
        pump: Some(pump),
    })
}

#[napi]
impl NativePubSub {
    fn finish(&self, id: u32, fut: impl std::future::Future<Output = Reply> + Send + 'static) {
        let done = self.done.clone();
        slotwise::blocking::runtime().spawn(async move {
            let reply = fut.await;
            let _ = done.call((id, reply), ThreadsafeFunctionCallMode::NonBlocking);
        });
    }

    /// Subscribes (`kind`: 'channel' | 'pattern' | 'sharded'); completes `id` once the server
    /// confirmed every name.
    #[napi(ts_args_type = "id: number, kind: string, names: Array<string | Buffer>")]
    pub fn subscribe(&self, id: u32, kind: String, names: Vec<Arg<'_>>) -> Result<()> {
        let (k, names, ps) = (self::kind(&kind)?, self::names(names), self.inner.clone());
        self.finish(id, async move { Reply::Unit(ps.subscribe(k, names).await) });
        Ok(())
    }

    /// Unsubscribes (every name of `kind` when `names` is empty); completes `id`.
    #[napi(ts_args_type = "id: number, kind: string, names: Array<string | Buffer>")]
    pub fn unsubscribe(&self, id: u32, kind: String, names: Vec<Arg<'_>>) -> Result<()> {
        let (k, names, ps) = (self::kind(&kind)?, self::names(names), self.inner.clone());
        self.finish(
            id,
            async move { Reply::Unit(ps.unsubscribe(k, names).await) },
        );
        Ok(())
    }

    /// Subscriptions held.
    #[napi(getter)]
    pub fn subscription_count(&self) -> u32 {
        self.inner.subscription_count() as u32
    }

    /// Closes the connections; queued items are still emitted, then the process is let go.
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl Drop for NativePubSub {
    fn drop(&mut self) {
        self.inner.close();
        if let Some(p) = self.pump.take() {
            p.abort();
        }
    }
}

fn bytes<'e>(env: &'e Env, ctx: &Ctx, b: &[u8]) -> Result<Unknown<'e>> {
    if ctx.buffers {
        Ok(BufferSlice::copy_from(env, b)?.to_unknown())
    } else {
        String::from_utf8_lossy(b).as_ref().into_unknown(env)
    }
}

/// The payload object of one item.
pub fn payload<'e>(env: &'e Env, ctx: &Ctx, item: PubSubItem) -> Result<Unknown<'e>> {
    let mut o = Object::new(env)?;
    match item {
        PubSubItem::Message {
            channel,
            pattern,
            payload,
            ..
        } => {
            if let Some(p) = pattern {
                o.set("pattern", bytes(env, ctx, &p)?)?;
            }
            o.set("channel", bytes(env, ctx, &channel)?)?;
            o.set("message", bytes(env, ctx, &payload)?)?;
        }
        PubSubItem::Subscribed { kind, name, count }
        | PubSubItem::Unsubscribed { kind, name, count } => {
            o.set("kind", kind_name(kind))?;
            o.set("channel", bytes(env, ctx, &name)?)?;
            o.set("count", count as u32)?;
        }
        PubSubItem::Resubscribed {
            subscriptions,
            interrupted_for,
        } => {
            let mut list = Vec::with_capacity(subscriptions.len());
            for (k, n) in subscriptions {
                let mut s = Object::new(env)?;
                s.set("kind", kind_name(k))?;
                s.set("channel", bytes(env, ctx, &n)?)?;
                list.push(s);
            }
            o.set("subscriptions", list)?;
            o.set("interruptedFor", interrupted_for.as_secs_f64() * 1000.0)?;
        }
        PubSubItem::Dropped { count } => {
            o.set("count", convert::int(env, count as i64)?)?;
        }
        _ => {}
    }
    o.into_unknown(env)
}

impl std::fmt::Debug for NativePubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativePubSub")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
