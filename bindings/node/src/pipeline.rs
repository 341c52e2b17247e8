//! Pipelines: lists of argument lists in; replies out in order, each failed command's error
//! instance in its place. `lib/client.js` queues the commands and decides whether to reject
//! (`raiseOnError`).

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, Result};
use slotwise::{Cmd, Value};

use crate::convert::{self, Arg, Ctx};
use crate::errors;

pub fn to_cmds(cmds: Vec<Vec<Arg<'_>>>) -> Vec<Cmd> {
    cmds.into_iter().map(convert::to_cmd).collect()
}

pub fn to_js<'e>(
    env: &'e Env,
    ctx: &Ctx,
    replies: Vec<slotwise::Result<Value>>,
) -> Result<Unknown<'e>> {
    let mut arr = env.create_array(replies.len() as u32)?;
    for (i, r) in replies.into_iter().enumerate() {
        let v = match r {
            Ok(v) => convert::value(env, ctx, v)?,
            Err(e) => errors::to_js(env, &ctx.factory, &e)?,
        };
        arr.set(i as u32, v)?;
    }
    arr.into_unknown(env)
}
