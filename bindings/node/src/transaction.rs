//! Transactions (WATCH / MULTI / EXEC on one held connection, the core's `Transaction`) and
//! scripts (EVALSHA, SCRIPT LOAD on NOSCRIPT) for `lib/transaction.js`.

use std::sync::Arc;

use napi_derive::napi;
use slotwise::{Error, Value};
use tokio::sync::Mutex;

use crate::client::NativeClient;
use crate::convert::{self, Arg, Reply};
use crate::pipeline;

type Shared = Arc<Mutex<Option<slotwise::Transaction>>>;

/// One transaction in progress (see `txStart`); `txExec` or `txReset` ends it.
#[napi]
#[derive(Debug)]
pub struct NativeTransaction {
    inner: Shared,
}

fn used() -> Error {
    Error::invalid("this transaction was already executed or discarded")
}

#[napi]
impl NativeClient {
    /// Starts a MULTI/EXEC transaction (no I/O until watch, query or exec).
    #[napi]
    pub fn tx_start(&self) -> NativeTransaction {
        NativeTransaction {
            inner: Arc::new(Mutex::new(Some(self.core().transaction()))),
        }
    }

    /// WATCHes `keys` on the transaction's held connection; completes `id` with null.
    #[napi(ts_args_type = "id: number, tx: NativeTransaction, keys: Array<string | Buffer>")]
    pub fn tx_watch(&self, id: u32, tx: &NativeTransaction, keys: Vec<Arg<'_>>) {
        let keys = convert::to_cmd(keys).args().to_vec();
        let inner = tx.inner.clone();
        self.finish(id, async move {
            let mut g = inner.lock().await;
            Reply::Unit(match g.as_mut() {
                Some(t) => t.watch(&keys).await,
                None => Err(used()),
            })
        });
    }

    /// Runs one command now on the held connection (reads after WATCH).
    #[napi(ts_args_type = "id: number, tx: NativeTransaction, args: Array<string | Buffer>")]
    pub fn tx_query(&self, id: u32, tx: &NativeTransaction, args: Vec<Arg<'_>>) {
        let cmd = convert::to_cmd(args);
        let inner = tx.inner.clone();
        self.finish(id, async move {
            let mut g = inner.lock().await;
            Reply::Value(match g.as_mut() {
                Some(t) => t.query(cmd).await,
                None => Err(used()),
            })
        });
    }

    /// MULTI, `cmds`, EXEC: completes `id` with the replies (errors inside as Error
    /// instances), or null when a watched key changed.
    #[napi(ts_args_type = "id: number, tx: NativeTransaction, cmds: Array<Array<string | Buffer>>")]
    pub fn tx_exec(&self, id: u32, tx: &NativeTransaction, cmds: Vec<Vec<Arg<'_>>>) {
        let cmds = pipeline::to_cmds(cmds);
        let inner = tx.inner.clone();
        self.finish(id, async move {
            let taken = inner.lock().await.take();
            let r = async move {
                let mut t = taken.ok_or_else(used)?;
                for c in cmds {
                    t.add(c)?;
                }
                t.execute().await
            };
            Reply::Value(r.await.map(|v| v.map(Value::Array).unwrap_or(Value::Nil)))
        });
    }

    /// Ends a transaction without EXEC (its connection, and any WATCH, is closed).
    #[napi]
    pub fn tx_reset(&self, tx: &NativeTransaction) {
        if let Ok(mut g) = tx.inner.try_lock() {
            g.take();
        }
    }

    /// Runs a Lua script with EVALSHA on the node owning `keys`, loading it there on
    /// NOSCRIPT; completes `id` with its reply.
    #[napi(
        ts_args_type = "id: number, body: string | Buffer, keys: Array<string | Buffer>, args: Array<string | Buffer>, readOnly: boolean"
    )]
    pub fn run_script(
        &self,
        id: u32,
        body: Arg<'_>,
        keys: Vec<Arg<'_>>,
        args: Vec<Arg<'_>>,
        read_only: bool,
    ) {
        let body = convert::to_cmd(vec![body]).args()[0].clone();
        let mut script = slotwise::Script::new(body);
        if read_only {
            script = script.read_only();
        }
        let keys = convert::to_cmd(keys).args().to_vec();
        let args = convert::to_cmd(args).args().to_vec();
        let c = self.core().clone();
        self.finish(id, async move {
            Reply::Value(c.run_script(&script, &keys, &args).await)
        });
    }
}
