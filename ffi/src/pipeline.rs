//! `slotwise_pipeline`: commands sent together (one batch per node), replies kept in order.

use std::sync::Arc;

use slotwise::{blocking, Cmd, Value};

use crate::args::{self, Handle};
use crate::client::{self, slotwise_client};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::reply::{self, slotwise_reply};
use crate::status::slotwise_status;

/// Commands collected on one thread and sent together: one batch per node, each command
/// routed by its own key, the results read back in the order the commands were added.
/// Create with `slotwise_pipeline_new`, free with `slotwise_pipeline_free`.
///
/// Thread-safety: not synchronized: use a pipeline from one thread at a time (it may move
/// between threads). Several pipelines of one client may run at once on different threads.
/// A pipeline keeps what it needs of its client: freeing the client first is safe (the
/// pipeline then fails with `SLOTWISE_STATUS_CLOSED`).
#[derive(Debug)]
pub struct slotwise_pipeline {
    _private: [u8; 0],
}

pub(crate) struct PipelineInner {
    client: Arc<blocking::Client>,
    cmds: Vec<Cmd>,
    results: Vec<Result<Value, Failure>>,
}

impl Handle for slotwise_pipeline {
    type Inner = PipelineInner;
}

/// Creates an empty pipeline on `client` into `*out`. Free with `slotwise_pipeline_free`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_new(
    client: *const slotwise_client,
    out: *mut *mut slotwise_pipeline,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c) = unsafe {
            (
                args::out(out, "out", std::ptr::null_mut())?,
                client::get(client)?,
            )
        };
        out.write(args::into_raw::<slotwise_pipeline>(PipelineInner {
            client: Arc::clone(&c.client),
            cmds: Vec::new(),
            results: Vec::new(),
        }));
        Ok(())
    })
}

/// Adds one command, given as for `slotwise_command` (the arguments are copied).
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_add(
    pipeline: *mut slotwise_pipeline,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (p, cmd) = unsafe {
            (
                args::get_mut(pipeline, "pipeline")?,
                args::command(argc, argv, argv_len)?,
            )
        };
        p.cmds.push(cmd);
        Ok(())
    })
}

/// Writes the number of commands added since the pipeline was created or last executed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_len(
    pipeline: *const slotwise_pipeline,
    out: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, p) = unsafe { (args::out(out, "out", 0)?, args::get(pipeline, "pipeline")?) };
        out.write(p.cmds.len());
        Ok(())
    })
}

/// Sends every command added since the last execute and blocks until all replies are in (one
/// deadline, the request timeout, for the whole pipeline). Afterwards the pipeline is empty
/// again, ready for new commands, and `slotwise_pipeline_result` reads result `i` of command
/// `i`; results of an earlier execute are discarded (and their replies freed).
///
/// Returns `SLOTWISE_STATUS_OK` when the pipeline ran, even if some commands failed: each
/// command has its own status through `slotwise_pipeline_result`. A failure status here means
/// no result is available (a forked child, or a call from a slotwise runtime thread).
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_execute(
    pipeline: *mut slotwise_pipeline,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let p = unsafe { args::get_mut(pipeline, "pipeline") }?;
        p.results.clear();
        let cmds = std::mem::take(&mut p.cmds);
        p.results = p
            .client
            .pipeline(cmds)?
            .into_iter()
            .map(|r| r.map_err(Failure::from))
            .collect();
        Ok(())
    })
}

/// Reads the result of command `index` of the last execute: its status is the return value
/// (and, on failure, the thread's last error: message and may-have-run), its reply goes to
/// `*reply` (NULL on failure). The reply is borrowed from the pipeline: valid until the next
/// `slotwise_pipeline_execute` or `slotwise_pipeline_free`; never free it.
/// `SLOTWISE_STATUS_OUT_OF_RANGE` when `index` is not below the number of results.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_result(
    pipeline: *const slotwise_pipeline,
    index: usize,
    reply: *mut *const slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, p) = unsafe {
            (
                args::out(reply, "reply", std::ptr::null())?,
                args::get(pipeline, "pipeline")?,
            )
        };
        match p.results.get(index) {
            None => Err(reply::out_of_range(index, p.results.len())),
            Some(Ok(v)) => {
                out.write(reply::borrowed(v));
                Ok(())
            }
            Some(Err(f)) => Err(f.clone()),
        }
    })
}

/// Frees a pipeline, with its results. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn slotwise_pipeline_free(pipeline: *mut slotwise_pipeline) {
    // SAFETY: header contract.
    boundary(|| unsafe { args::free(pipeline) })
}
