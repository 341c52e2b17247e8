//! JavaScript values ↔ command arguments and replies.
//!
//! In: strings (as UTF-8) and Buffers/Uint8Arrays (as they are); `lib/client.js` has already
//! turned numbers and bigints into their decimal text and rejected anything else.
//! Out: nil → `null`; integers → `number` (a `BigInt` beyond ±2^53-1); doubles → `number`;
//! booleans → `boolean`; big numbers → `BigInt` (decimal text when beyond 128 bits); bulk and
//! verbatim strings → `string` (UTF-8, invalid bytes replaced) or `Buffer` with
//! `returnBuffers`; status replies (`OK`) → always `string`; arrays and sets → `Array`;
//! maps → a plain object when every key is a string or a number (numbers become their decimal
//! text), otherwise a `Map`; an error inside a reply → the error instance in its place.

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{
    BigInt, BufferSlice, Either, FnArgs, Function, JsObjectValue, Null, Object, ToNapiValue,
    Unknown,
};
use napi::{sys, Env, JsValue, Result};
use slotwise::{Cmd, Error, Value};

use crate::{errors, events, pipeline, pubsub, topology};

/// One command argument as the addon receives it.
pub type Arg<'a> = Either<String, BufferSlice<'a>>;

/// One command from its arguments (the name first).
pub fn to_cmd(args: Vec<Arg<'_>>) -> Cmd {
    let mut cmd = Cmd::new();
    for a in args {
        cmd.push(match a {
            Either::A(s) => Bytes::from(s),
            Either::B(b) => Bytes::copy_from_slice(&b),
        });
    }
    cmd
}

/// What one client needs to build JavaScript values: the error factory and the reply mode.
pub struct Ctx {
    pub factory: errors::Factory,
    pub buffers: bool,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("buffers", &self.buffers)
            .finish()
    }
}

/// A result on its way to the JS thread.
#[derive(Debug)]
pub enum Reply {
    Value(slotwise::Result<Value>),
    Pipeline(Vec<slotwise::Result<Value>>),
    Health(slotwise::Result<slotwise::HealthReport>),
    Unit(slotwise::Result<()>),
    Event(slotwise::Event),
    PubSub(slotwise::PubSubItem),
}

impl Reply {
    /// False when the whole call failed (the promise rejects).
    pub fn ok(&self) -> bool {
        match self {
            Reply::Value(r) => r.is_ok(),
            Reply::Health(r) => r.is_ok(),
            Reply::Unit(r) => r.is_ok(),
            Reply::Pipeline(_) | Reply::Event(_) | Reply::PubSub(_) => true,
        }
    }
}

/// A [`Reply`] with the context to convert it, converted on the JS thread by napi.
#[derive(Debug)]
pub struct Out {
    pub reply: Reply,
    pub ctx: Arc<Ctx>,
}

impl Out {
    fn build<'e>(self, env: &'e Env) -> Result<Unknown<'e>> {
        let ctx = &self.ctx;
        match self.reply {
            Reply::Value(Ok(v)) => value(env, ctx, v),
            Reply::Pipeline(rs) => pipeline::to_js(env, ctx, rs),
            Reply::Health(Ok(h)) => topology::health(env, ctx, h),
            Reply::Unit(Ok(())) => Null.into_unknown(env),
            Reply::Event(e) => events::payload(env, e),
            Reply::PubSub(i) => pubsub::payload(env, ctx, i),
            Reply::Value(Err(e)) | Reply::Health(Err(e)) | Reply::Unit(Err(e)) => {
                errors::to_js(env, &ctx.factory, &e)
            }
        }
    }
}

#[allow(unsafe_code)]
impl ToNapiValue for Out {
    /// SAFETY: napi calls this on the JS thread with the live `env` it passes; the body only
    /// uses napi's safe API. `unsafe` is the trait's signature, nothing more.
    unsafe fn to_napi_value(raw: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = Env::from_raw(raw);
        val.build(&env).map(|u| u.raw())
    }
}

/// A reply as a JavaScript value.
pub fn value<'e>(env: &'e Env, ctx: &Ctx, v: Value) -> Result<Unknown<'e>> {
    match v {
        Value::Nil => Null.into_unknown(env),
        Value::Int(i) => int(env, i),
        Value::Double(d) => d.into_unknown(env),
        Value::Boolean(b) => b.into_unknown(env),
        Value::BigNumber(b) => match std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<i128>().ok())
        {
            Some(n) => BigInt::from(n).into_unknown(env),
            None => text(env, &b),
        },
        Value::Simple(b) => text(env, &b),
        Value::Bulk(b) | Value::Verbatim { text: b, .. } => {
            if ctx.buffers {
                Ok(BufferSlice::copy_from(env, &b)?.to_unknown())
            } else {
                text(env, &b)
            }
        }
        Value::Error(msg) => errors::to_js(env, &ctx.factory, &Error::from_server(&msg)),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let mut arr = env.create_array(items.len() as u32)?;
            for (i, item) in items.into_iter().enumerate() {
                arr.set(i as u32, value(env, ctx, item)?)?;
            }
            arr.into_unknown(env)
        }
        Value::Map(pairs) => map(env, ctx, pairs),
        // Value is non-exhaustive: a variant added later is surfaced, not dropped silently.
        other => Err(napi::Error::from_reason(format!(
            "unsupported reply type: {other:?}"
        ))),
    }
}

/// Largest integer a JavaScript number holds exactly.
const MAX_SAFE: i64 = (1 << 53) - 1;

pub fn int(env: &Env, i: i64) -> Result<Unknown<'_>> {
    if (-MAX_SAFE..=MAX_SAFE).contains(&i) {
        (i as f64).into_unknown(env)
    } else {
        BigInt::from(i).into_unknown(env)
    }
}

fn text<'e>(env: &'e Env, b: &[u8]) -> Result<Unknown<'e>> {
    String::from_utf8_lossy(b).as_ref().into_unknown(env)
}

/// A key usable as an object property name, when the reply's key is one.
fn key_text(k: &Value) -> Option<String> {
    match k {
        Value::Simple(b) | Value::Bulk(b) | Value::Verbatim { text: b, .. } => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn map<'e>(env: &'e Env, ctx: &Ctx, pairs: Vec<(Value, Value)>) -> Result<Unknown<'e>> {
    if pairs.iter().all(|(k, _)| key_text(k).is_some()) {
        let mut obj = Object::new(env)?;
        for (k, v) in pairs {
            let key = key_text(&k).unwrap_or_default();
            obj.set(key, value(env, ctx, v)?)?;
        }
        return obj.into_unknown(env);
    }
    let ctor: Function<(), Unknown> = env.get_global()?.get_named_property("Map")?;
    let m = ctor.new_instance(())?;
    let set: Function<FnArgs<(Unknown, Unknown)>, Unknown> =
        m.coerce_to_object()?.get_named_property("set")?;
    for (k, v) in pairs {
        set.apply(m, (value(env, ctx, k)?, value(env, ctx, v)?).into())?;
    }
    Ok(m)
}
