//! One multiplexed, auto-pipelined connection per node.
//!
//! Many callers share one socket: a writer task batches whatever requests are queued into one
//! write, a reader task matches replies to requests in order. Each request records whether its
//! bytes reached the socket, so a failure can say precisely whether the command may have run.

mod credentials;
mod handshake;
mod io;
mod stream;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;

pub(crate) use credentials::{Credentials, SharedCredentials};
pub(crate) use stream::Stream;

use crate::config::Options;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::{encode_command, encoded_len, Value};
use crate::tls::Tls;
use crate::topology::Addr;
use crate::Cmd;

/// Request state shared between the caller and the writer: whoever moves it out of `QUEUED`
/// first decides whether the command was written (may have run) or cancelled (did not run).
const QUEUED: u8 = 0;
const WRITTEN: u8 = 1;
const CANCELLED: u8 = 2;

pub(crate) struct Request {
    bytes: Bytes,
    count: usize,
    tx: oneshot::Sender<Result<Vec<Value>>>,
    state: Arc<AtomicU8>,
    _permit: OwnedSemaphorePermit,
}

/// What the connection needs beyond the address.
#[derive(Clone, Debug)]
pub(crate) struct ConnConfig {
    pub options: Options,
    /// Send `READONLY` after the handshake (replica reads in cluster mode).
    pub readonly: bool,
    /// Send `SELECT db` (standalone only).
    pub select_db: bool,
    /// Set when `options.tls` is: the connector built from it.
    pub tls: Option<Tls>,
    /// Who to authenticate as; starts as `options.username`/`password`, replaceable live.
    pub credentials: SharedCredentials,
}

impl ConnConfig {
    /// Builds the TLS connector (reading its files) once, so bad TLS settings fail here.
    pub fn new(options: Options, readonly: bool, select_db: bool) -> Result<ConnConfig> {
        let tls = options.tls.as_ref().map(Tls::new).transpose()?;
        let credentials = SharedCredentials::new(Credentials {
            username: options.username.clone(),
            password: options.password.clone(),
        });
        Ok(ConnConfig {
            options,
            readonly,
            select_db,
            tls,
            credentials,
        })
    }
}

/// The words of a connect that got no answer in time (a transient failure, unlike a refusal).
pub(crate) const NO_ANSWER: &str = "no answer within";

/// A TCP (or TLS) connection with the handshake done, within `connect_timeout`: the base of a
/// multiplexed [`Connection`], and of dedicated connections (Sentinel subscriptions). The one
/// place where connections are opened.
pub(crate) async fn open_stream(
    addr: &Addr,
    cfg: &ConnConfig,
) -> Result<(Stream, crate::resp::Decoder)> {
    let timeout = cfg.options.connect_timeout;
    let fut = async {
        let stream = tokio::net::TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Connect,
                    Outcome::NotRun,
                    format!("connect to {addr}: {e}"),
                )
            })?;
        stream.set_nodelay(true).ok();
        let stream = match &cfg.tls {
            None => Stream::Tcp(stream),
            Some(tls) => Stream::Tls(Box::new(tls.connect(&addr.host, stream).await.map_err(
                |e| Error::new(ErrorKind::Connect, Outcome::NotRun, format!("{addr}: {e}")),
            )?)),
        };
        handshake::run(stream, cfg)
            .await
            .map_err(|e| e.context(format_args!("handshake with {addr}")))
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::Connect,
            Outcome::NotRun,
            format!("connect to {addr}: {NO_ANSWER} {timeout:?}"),
        )),
    }
}

/// A live connection to one node. Cheap to share behind an `Arc`; dropping the last handle
/// closes the socket once queued requests are answered.
#[derive(Debug)]
pub(crate) struct Connection {
    addr: Addr,
    tx: mpsc::Sender<Request>,
    permits: Arc<Semaphore>,
    closed: Arc<AtomicBool>,
    shutdown: watch::Sender<Shutdown>,
}

/// Why the I/O tasks stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shutdown {
    Running,
    /// The client closed it (node left the topology, client closed, handle dropped).
    ByClient,
    /// A write failed: the socket is broken.
    WriteFailed,
}

impl Connection {
    /// Connects, runs the handshake and starts the I/O tasks, all within `connect_timeout`.
    pub async fn connect(addr: &Addr, cfg: &ConnConfig) -> Result<Connection> {
        let (stream, decoder) = open_stream(addr, cfg).await?;
        let (tx, rx) = mpsc::channel(cfg.options.max_inflight.clamp(1, 4096));
        let closed = Arc::new(AtomicBool::new(false));
        let (shutdown, shutdown_rx) = watch::channel(Shutdown::Running);
        io::spawn(
            stream,
            decoder,
            rx,
            addr.clone(),
            closed.clone(),
            shutdown.clone(),
            shutdown_rx,
        );
        Ok(Connection {
            addr: addr.clone(),
            tx,
            permits: Arc::new(Semaphore::new(cfg.options.max_inflight)),
            closed,
            shutdown,
        })
    }

    /// True once the socket failed or the connection was closed: get a new one.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the socket; requests not yet written fail as not run.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.shutdown.send_replace(Shutdown::ByClient);
    }

    /// Sends one command and waits for its reply (which may be a `Value::Error`).
    pub async fn send(&self, cmd: &Cmd, deadline: Instant) -> Result<Value> {
        let mut v = self.send_many(std::slice::from_ref(cmd), deadline).await?;
        v.pop().ok_or_else(|| Error::protocol("no reply"))
    }

    /// Sends several commands back to back (written contiguously, so nothing interleaves) and
    /// waits for all their replies, in order.
    pub async fn send_many(&self, cmds: &[Cmd], deadline: Instant) -> Result<Vec<Value>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let not_run = |what: &str| {
            Error::new(
                ErrorKind::Busy,
                Outcome::NotRun,
                format!("{what} to {}: deadline passed while waiting for a free slot in the connection queue", self.addr),
            )
        };
        // Fast paths first: a free queue slot and channel space are the common case, and each
        // `timeout_at` costs a timer set up per request (make profile-get).
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return Err(self.closed_error()),
            Err(TryAcquireError::NoPermits) => {
                match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await
                {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(self.closed_error()),
                    Err(_) => return Err(not_run("request")),
                }
            }
        };
        let mut buf = BytesMut::with_capacity(cmds.iter().map(|c| encoded_len(c.args())).sum());
        for c in cmds {
            encode_command(c.args(), &mut buf);
        }
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let req = Request {
            bytes: buf.freeze(),
            count: cmds.len(),
            tx,
            state: state.clone(),
            _permit: permit,
        };
        match self.tx.try_send(req) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => return Err(self.closed_error()),
            Err(TrySendError::Full(req)) => {
                match tokio::time::timeout_at(deadline, self.tx.send(req)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(self.closed_error()),
                    Err(_) => return Err(not_run("request")),
                }
            }
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(Error::new(
                ErrorKind::Io,
                Outcome::MayHaveRun,
                format!("connection to {} dropped the request", self.addr),
            )),
            Err(_) => {
                let outcome = match state.compare_exchange(
                    QUEUED,
                    CANCELLED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => Outcome::NotRun,
                    Err(_) => Outcome::MayHaveRun,
                };
                Err(Error::new(
                    ErrorKind::Timeout,
                    outcome,
                    format!("no reply from {} before the request deadline", self.addr),
                ))
            }
        }
    }

    fn closed_error(&self) -> Error {
        Error::new(
            ErrorKind::Io,
            Outcome::NotRun,
            format!("connection to {} is closed", self.addr),
        )
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shutdown.send_replace(Shutdown::ByClient);
    }
}
