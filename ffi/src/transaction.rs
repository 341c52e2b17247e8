//! `slotwise_transaction`: MULTI/EXEC (with optional WATCH) on one connection held for the
//! transaction; `slotwise_script_run`: a Lua script by SHA-1, loaded where NOSCRIPT.

use slotwise::{blocking, Cmd, Script, Transaction};

use crate::args::{self, Handle};
use crate::client::{self, slotwise_client};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::reply::{self, slotwise_reply};
use crate::status::slotwise_status;

/// A MULTI/EXEC transaction: every key (watched or queued) must hash to one slot (use a hash
/// tag), else `SLOTWISE_STATUS_CROSS_SLOT` and nothing is sent. Create with
/// `slotwise_transaction_new`, free with `slotwise_transaction_free` (which ends it: its
/// connection, and any WATCH, is closed).
///
/// Thread-safety: not synchronized: use a transaction from one thread at a time. It keeps
/// what it needs of its client: freeing the client first is safe.
#[derive(Debug)]
pub struct slotwise_transaction {
    _private: [u8; 0],
}

pub(crate) struct TransactionInner {
    tx: Option<Transaction>,
}

impl Handle for slotwise_transaction {
    type Inner = TransactionInner;
}

fn ended() -> Failure {
    Failure::invalid("this transaction was already executed")
}

/// Creates a transaction on `client` into `*out` (no I/O yet). Free with
/// `slotwise_transaction_free`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_new(
    client: *const slotwise_client,
    out: *mut *mut slotwise_transaction,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c) = unsafe {
            (
                args::out(out, "out", std::ptr::null_mut())?,
                client::get(client)?,
            )
        };
        let tx = client::core(c)?.transaction();
        out.write(args::into_raw::<slotwise_transaction>(TransactionInner {
            tx: Some(tx),
        }));
        Ok(())
    })
}

/// WATCHes `argc` keys (given as for `slotwise_command`'s arguments) on the connection held
/// for the transaction, opening it; blocks until the server answers. If a watched key changes
/// before `slotwise_transaction_exec`, EXEC applies nothing (see there).
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_watch(
    tx: *mut slotwise_transaction,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (t, keys) = unsafe {
            (
                args::get_mut(tx, "tx")?,
                args::command(argc, argv, argv_len)?,
            )
        };
        let t = t.tx.as_mut().ok_or_else(ended)?;
        blocking::block_on(t.watch(keys.args()))?;
        Ok(())
    })
}

/// Runs one command now on the transaction's connection (reads between WATCH and EXEC) and
/// blocks for its reply, written to `*reply` as for `slotwise_command` (free it with
/// `slotwise_reply_free`).
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_query(
    tx: *mut slotwise_transaction,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
    reply: *mut *mut slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, t, cmd) = unsafe {
            (
                args::out(reply, "reply", std::ptr::null_mut())?,
                args::get_mut(tx, "tx")?,
                args::command(argc, argv, argv_len)?,
            )
        };
        let t = t.tx.as_mut().ok_or_else(ended)?;
        out.write(reply::into_owned(blocking::block_on(t.query(cmd))?));
        Ok(())
    })
}

/// Queues one command (given as for `slotwise_command`, copied) for EXEC; no I/O.
/// `SLOTWISE_STATUS_CROSS_SLOT` when its keys are in another slot than the transaction's.
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_add(
    tx: *mut slotwise_transaction,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (t, cmd) = unsafe {
            (
                args::get_mut(tx, "tx")?,
                args::command(argc, argv, argv_len)?,
            )
        };
        t.tx.as_mut().ok_or_else(ended)?.add(cmd)?;
        Ok(())
    })
}

/// Sends MULTI, the queued commands and EXEC in one write and blocks for the outcome; the
/// transaction is then used up (free it). On success `*reply` (yours: `slotwise_reply_free`)
/// is an ARRAY of the commands' replies (a command that failed inside EXEC has an ERROR
/// element), or NIL when a watched key changed: nothing was applied.
/// `SLOTWISE_STATUS_EXEC_ABORT` when a command was refused while queueing (nothing applied).
/// An interrupted transaction fails with `slotwise_last_error_may_have_run()` telling
/// whether EXEC may have been applied; it is never resent then.
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_exec(
    tx: *mut slotwise_transaction,
    reply: *mut *mut slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, t) = unsafe {
            (
                args::out(reply, "reply", std::ptr::null_mut())?,
                args::get_mut(tx, "tx")?,
            )
        };
        let t = t.tx.take().ok_or_else(ended)?;
        let v = blocking::block_on(t.execute())?;
        out.write(reply::into_owned(
            v.map(slotwise::Value::Array)
                .unwrap_or(slotwise::Value::Nil),
        ));
        Ok(())
    })
}

/// Frees a transaction (ending it without EXEC if it was not executed). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn slotwise_transaction_free(tx: *mut slotwise_transaction) {
    // SAFETY: header contract.
    boundary(|| unsafe { args::free(tx) })
}

/// Runs the Lua script `body` (`body_len` bytes) with EVALSHA on the node owning its keys
/// (all in one slot), loading it there with SCRIPT LOAD when the node answers NOSCRIPT (a new
/// primary after a failover, a restart), and blocks for the reply (as for `slotwise_command`).
/// `argv` holds `argc` arguments: the first `numkeys` are the keys, the rest the script's
/// arguments. `read_only` uses EVALSHA_RO.
#[no_mangle]
pub unsafe extern "C" fn slotwise_script_run(
    client: *const slotwise_client,
    body: *const u8,
    body_len: usize,
    numkeys: usize,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
    read_only: bool,
    reply: *mut *mut slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c, body) = unsafe {
            (
                args::out(reply, "reply", std::ptr::null_mut())?,
                client::get(client)?,
                args::bytes(body, body_len, "body")?,
            )
        };
        if numkeys > argc {
            return Err(Failure::invalid("numkeys is larger than argc"));
        }
        let all = if argc == 0 {
            Cmd::new()
        } else {
            // SAFETY: header contract.
            unsafe { args::command(argc, argv, argv_len) }?
        };
        let (keys, rest) = all.args().split_at(numkeys);
        let mut script = Script::new(body);
        if read_only {
            script = script.read_only();
        }
        let core = client::core(c)?;
        let v = blocking::block_on(core.run_script(&script, keys, rest))?;
        out.write(reply::into_owned(v));
        Ok(())
    })
}
