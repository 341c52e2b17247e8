//! The sync facade shared by the Python binding and the C ABI: one process-wide tokio runtime
//! that survives `fork()`, and a [`Client`] whose calls block the calling thread.
//!
//! Why fork matters: a forked child inherits the runtime's memory but none of its threads, so
//! anything that waits on the parent's runtime in the child waits forever. Here the runtime
//! remembers the pid that built it; a child gets a fresh runtime on first use, and a client
//! built in the parent fails in the child with a [`ErrorKind::Closed`] error instead of hanging
//! (its connections belong to threads that no longer exist). The parent's runtime and clients
//! are leaked in the child, never dropped: dropping them would wait on those dead threads.

use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::{Cmd, Options, Topology, Value};

/// A runtime and the process that built it.
struct Owned {
    pid: u32,
    runtime: Runtime,
}

/// Points at a leaked `Owned`; swapped (never freed) when a forked child builds its own.
/// Lock-free on purpose: a lock held by a parent thread at fork time would stay held forever
/// in the child.
static CURRENT: AtomicPtr<Owned> = AtomicPtr::new(ptr::null_mut());

fn current() -> Option<&'static Owned> {
    let p = CURRENT.load(Ordering::Acquire);
    // SAFETY: CURRENT only ever holds null or a pointer from `Box::leak`, which is never
    // freed, so a non-null pointer is valid for the rest of the process.
    #[allow(unsafe_code)]
    unsafe {
        p.as_ref()
    }
}

/// The process-wide runtime (2 worker threads), built on first use and again, once, in each
/// forked child that uses it.
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    loop {
        let seen = CURRENT.load(Ordering::Acquire);
        if let Some(owned) = current() {
            if owned.pid == pid && ptr::eq(owned, seen) {
                return &owned.runtime;
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            // Bounds the threads that hand results back to a binding (each may wait for the
            // Python GIL); the core itself never blocks.
            .max_blocking_threads(16)
            .thread_name("slotwise")
            .on_thread_start(block_sigpipe)
            .enable_all()
            .build()
            .expect(
                "slotwise: cannot start the tokio runtime (out of threads or file descriptors?)",
            );
        let fresh: *mut Owned = Box::leak(Box::new(Owned { pid, runtime }));
        match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {}
            Err(_) => {
                // Another thread installed one first: use theirs, discard ours.
                // SAFETY: `fresh` came from `Box::leak` above and was never shared.
                #[allow(unsafe_code)]
                let ours = unsafe { Box::from_raw(fresh) };
                ours.runtime.shutdown_background();
            }
        }
    }
}

/// A write to a socket the peer closed can raise SIGPIPE (vectored writes, as TLS uses), and
/// in a C or C++ host its default action ends the process (seen: the C tests under valgrind,
/// killed by SIGPIPE after `CLIENT KILL` cut a TLS connection). Blocked on the runtime's own
/// threads, the signal stays pending there and the write fails with EPIPE, which the
/// connection reports like any other write failure. The host's disposition is not touched.
#[allow(unsafe_code)]
fn block_sigpipe() {
    #[cfg(unix)]
    // SAFETY: plain libc calls on a local, zero-initialised signal set; the mask changed is
    // this (runtime) thread's own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Runs `fut` to completion on the runtime, blocking the calling thread. Called from inside a
/// tokio runtime (where blocking would stall it, and tokio would panic) it returns an
/// [`ErrorKind::InvalidArgument`] error instead.
pub fn block_on<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::invalid(
            "a blocking slotwise call was made from inside an async runtime; use the async API",
        ));
    }
    runtime().block_on(fut)
}

fn forked_error() -> Error {
    Error::new(
        ErrorKind::Closed,
        Outcome::NotRun,
        "client was created in another process (fork); create a new client",
    )
}

/// A [`crate::Client`] with blocking methods and fork detection. Cheap to share: every method
/// takes `&self` and may be called from many threads at once.
#[derive(Debug)]
pub struct Client {
    /// `Some` until dropped; taken and leaked on drop in a forked child.
    inner: Option<crate::Client>,
    pid: u32,
}

impl From<crate::Client> for Client {
    /// Wraps a client built (on [`runtime`]) by this process.
    fn from(inner: crate::Client) -> Self {
        Client {
            inner: Some(inner),
            pid: std::process::id(),
        }
    }
}

impl Client {
    /// [`crate::Client::cluster`], blocking.
    pub fn cluster<S: AsRef<str>>(
        seeds: impl IntoIterator<Item = S>,
        options: Options,
    ) -> Result<Client> {
        block_on(crate::Client::cluster(seeds, options)).map(Client::from)
    }

    /// [`crate::Client::standalone`], blocking.
    pub fn standalone(addr: &str, options: Options) -> Result<Client> {
        block_on(crate::Client::standalone(addr, options)).map(Client::from)
    }

    /// The async client, for bindings that run futures on [`runtime`] themselves; fails in a
    /// forked child.
    pub fn client(&self) -> Result<&crate::Client> {
        if self.pid != std::process::id() {
            return Err(forked_error());
        }
        self.inner.as_ref().ok_or_else(forked_error)
    }

    /// [`crate::Client::execute`], blocking.
    pub fn execute(&self, cmd: Cmd) -> Result<Value> {
        let client = self.client()?;
        block_on(client.execute(cmd))
    }

    /// Runs `cmds` as one pipeline; one result per command, in order.
    pub fn pipeline(&self, cmds: impl IntoIterator<Item = Cmd>) -> Result<Vec<Result<Value>>> {
        let mut p = self.client()?.pipeline();
        for c in cmds {
            p.add(c);
        }
        block_on(async move { Ok(p.execute().await) })
    }

    /// [`crate::Client::topology`].
    pub fn topology(&self) -> Result<Arc<Topology>> {
        Ok(self.client()?.topology())
    }

    /// [`crate::Client::topology_version`].
    pub fn topology_version(&self) -> Result<u64> {
        Ok(self.client()?.topology_version())
    }

    /// [`crate::Client::refresh_topology`], blocking.
    pub fn refresh_topology(&self) -> Result<()> {
        let client = self.client()?;
        block_on(client.refresh_topology())
    }

    /// [`crate::Client::close`]; a no-op in a forked child (nothing there to close).
    pub fn close(&self) {
        if let Ok(c) = self.client() {
            c.close();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // A forked child: the client's tasks lived on threads that do not exist here, so
            // dropping it could wait on them. Leak it instead.
            std::mem::forget(self.inner.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_per_process() {
        assert!(ptr::eq(runtime(), runtime()));
        assert_eq!(block_on(async { Ok(7) }), Ok(7));
    }

    #[test]
    fn block_on_inside_a_runtime_is_an_error_not_a_panic() {
        let err = runtime()
            .block_on(async { block_on(async { Ok(()) }) })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn a_client_from_another_process_fails_clearly_and_is_leaked() {
        // RESP2 without auth sends nothing on connect, so a bare listener is a server enough.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let opts = Options::default().with_protocol(crate::Protocol::Resp2);
        let mut client = Client::standalone(&addr, opts).unwrap();
        assert!(client.client().is_ok());
        client.pid = client.pid.wrapping_add(1); // as a forked child sees it
        for err in [
            client.execute(crate::cmd("PING")).unwrap_err(),
            client.pipeline([crate::cmd("PING")]).unwrap_err(),
            client.topology().unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Closed);
            assert!(err.message().contains("another process (fork)"), "{err}");
        }
        client.close();
        drop(client);
    }
}
