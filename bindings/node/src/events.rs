//! Core events → `client.emit(name, payload)` on the JS thread, through one weak (unref'd)
//! threadsafe function per client: events never keep the process alive.
//!
//! | event | payload |
//! |---|---|
//! | `topology` | `{ version, slotsMoved, failovers: [{ oldPrimary, newPrimary }], nodesAdded, nodesRemoved }` |
//! | `nodeFailed` | `{ address, reason, permanent }` |
//! | `nodeRecovered` | `{ address }` |
//! | `failover` | `{ oldPrimary, newPrimary }` |
//! | `sentinelLost` | `{ address, reason }` |
//! | `sentinelRegained` | `{ address }` |

use std::sync::Arc;

use napi::bindgen_prelude::{FnArgs, Function, Object, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Result, Status};
use slotwise::{Addr, Event};
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio::task::AbortHandle;

use crate::convert::{self, Ctx, Out, Reply};

/// The JS side: `emit(name, payload)`.
pub type EmitFn<'e> = Function<'e, FnArgs<(&'static str, Out)>, ()>;

type Emitter = ThreadsafeFunction<Event, (), FnArgs<(&'static str, Out)>, Status, false, true>;

/// The event's name, `None` for kinds this binding does not know yet.
fn name(e: &Event) -> Option<&'static str> {
    Some(match e {
        Event::TopologyChanged { .. } => "topology",
        Event::NodeFailed { .. } => "nodeFailed",
        Event::NodeRecovered { .. } => "nodeRecovered",
        Event::Failover { .. } => "failover",
        Event::SentinelLost { .. } => "sentinelLost",
        Event::SentinelRegained { .. } => "sentinelRegained",
        _ => return None,
    })
}

/// Builds the emitter on the JS thread (at connect time).
pub fn emitter(emit: &EmitFn<'_>, ctx: Arc<Ctx>) -> Result<Emitter> {
    emit.build_threadsafe_function::<Event>()
        .weak::<true>()
        .build_callback(move |call| {
            let name = name(&call.value).unwrap_or("unknown");
            Ok((
                name,
                Out {
                    reply: Reply::Event(call.value),
                    ctx: ctx.clone(),
                },
            )
                .into())
        })
}

/// Forwards `rx` to the emitter on the core runtime until aborted (by `close()`), the
/// client is gone, or the JS environment is.
pub fn spawn(mut rx: Receiver<Event>, emitter: Emitter) -> AbortHandle {
    slotwise::blocking::runtime()
        .spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) if name(&e).is_some() => {
                        if emitter.call(e, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
                            break;
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        })
        .abort_handle()
}

/// The payload object of one event.
pub fn payload(env: &Env, e: Event) -> Result<Unknown<'_>> {
    let mut o = Object::new(env)?;
    match e {
        Event::TopologyChanged { version, diff } => {
            o.set("version", convert::int(env, version as i64)?)?;
            o.set("slotsMoved", diff.slots_moved)?;
            let failovers = diff
                .failovers
                .iter()
                .map(|(old, new)| pair(env, old, new))
                .collect::<Result<Vec<_>>>()?;
            o.set("failovers", failovers)?;
            o.set("nodesAdded", addrs(&diff.nodes_added))?;
            o.set("nodesRemoved", addrs(&diff.nodes_removed))?;
        }
        Event::NodeFailed {
            addr,
            reason,
            permanent,
        } => {
            o.set("address", addr.to_string())?;
            o.set("reason", reason)?;
            o.set("permanent", permanent)?;
        }
        Event::NodeRecovered { addr } | Event::SentinelRegained { addr } => {
            o.set("address", addr.to_string())?;
        }
        Event::SentinelLost { addr, reason } => {
            o.set("address", addr.to_string())?;
            o.set("reason", reason)?;
        }
        Event::Failover {
            old_primary,
            new_primary,
        } => return pair(env, &old_primary, &new_primary),
        _ => {}
    }
    o.into_unknown(env)
}

fn pair<'e>(env: &'e Env, old: &Addr, new: &Addr) -> Result<Unknown<'e>> {
    let mut o = Object::new(env)?;
    o.set("oldPrimary", old.to_string())?;
    o.set("newPrimary", new.to_string())?;
    o.into_unknown(env)
}

fn addrs(a: &[Addr]) -> Vec<String> {
    a.iter().map(Addr::to_string).collect()
}
