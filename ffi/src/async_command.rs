//! `slotwise_command_async`: a command whose reply is handed to a C callback on one of the
//! runtime's threads, so one C thread can keep many commands in flight.

use std::ffi::c_void;

use slotwise::blocking;

use crate::args::{self, UserData};
use crate::client::{self, slotwise_client};
use crate::error::{self, Failure};
use crate::panic::{call, CatchUnwind};
use crate::reply::{self, slotwise_reply};
use crate::status::slotwise_status;

/// Receives the outcome of a `slotwise_command_async` call, exactly once.
///
/// `status` is `SLOTWISE_STATUS_OK` with `reply` a reply that the callback now owns (free it
/// with `slotwise_reply_free`, here or later on any thread), or a failure with `reply` NULL;
/// during the callback, `slotwise_last_error_message()` and
/// `slotwise_last_error_may_have_run()` on its thread describe the failure.
///
/// Called on one of slotwise's runtime threads (never on the thread that sent the command),
/// possibly on several threads at once for different commands: keep it short and never block
/// in it (a slow callback delays other replies). It may call `slotwise_command_async` and any
/// non-blocking function; blocking calls (`slotwise_command`, `slotwise_pipeline_execute`,
/// constructors, `slotwise_health_check`) fail there with `SLOTWISE_STATUS_INVALID_ARGUMENT`.
/// It must not unwind (C++ exceptions, longjmp) into slotwise.
pub type slotwise_reply_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: slotwise_status,
        reply: *mut slotwise_reply,
    ),
>;

/// Sends one command (given as for `slotwise_command`; the arguments are copied before this
/// returns) and returns at once; `callback` receives the outcome later, with `user_data`.
///
/// Returns `SLOTWISE_STATUS_OK` when the command was queued: the callback will then be called
/// exactly once, even if the client is freed meanwhile (see `slotwise_client_free`).
/// Any other status means the command was not queued and the callback will not be called.
///
/// Thread-safe; may be called from inside a reply callback. `user_data` must stay valid until
/// the callback has run, and be usable from the runtime thread that runs it.
#[no_mangle]
pub unsafe extern "C" fn slotwise_command_async(
    client: *const slotwise_client,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
    callback: slotwise_reply_callback,
    user_data: *mut c_void,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (c, cmd) = unsafe { (client::get(client)?, args::command(argc, argv, argv_len)?) };
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        let core = client::core(c)?.clone();
        let ud = UserData::new(user_data);
        let fut = CatchUnwind(Box::pin(async move { core.execute(cmd).await }));
        blocking::runtime().spawn(async move {
            let (status, reply) = match fut.await {
                Ok(Ok(v)) => {
                    error::clear();
                    (slotwise_status::Ok, reply::into_owned(v))
                }
                Ok(Err(e)) => (error::report(Err(e.into())), std::ptr::null_mut()),
                Err(panic) => (error::report(Err(panic)), std::ptr::null_mut()),
            };
            // SAFETY: a C function pointer given for this purpose, with its own user_data;
            // the reply's ownership passes to it.
            unsafe { cb(ud.get(), status, reply) };
        });
        Ok(())
    })
}
