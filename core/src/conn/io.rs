//! The writer and reader tasks behind one connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::{Request, Shutdown, Stream, CANCELLED, QUEUED, WRITTEN};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::{Decoder, Value};
use crate::topology::Addr;

/// Most bytes gathered into one write before it is flushed.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// A written request waiting for its replies.
struct Pending {
    count: usize,
    replies: Vec<Value>,
    tx: oneshot::Sender<Result<Vec<Value>>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

pub(super) fn spawn(
    stream: Stream,
    decoder: Decoder,
    rx: mpsc::Receiver<Request>,
    addr: Addr,
    closed: Arc<AtomicBool>,
    shutdown: watch::Sender<Shutdown>,
    shutdown_rx: watch::Receiver<Shutdown>,
) {
    let (ptx, prx) = mpsc::unbounded_channel();
    macro_rules! start {
        ($r:expr, $w:expr) => {{
            tokio::spawn(writer(
                $w,
                rx,
                ptx,
                addr.clone(),
                closed.clone(),
                shutdown.clone(),
                shutdown_rx.clone(),
            ));
            tokio::spawn(reader(
                $r,
                decoder,
                prx,
                addr,
                closed,
                shutdown,
                shutdown_rx,
            ));
        }};
    }
    match stream {
        // TCP halves are lock-free; a TLS session is one state machine, split behind a lock.
        Stream::Tcp(s) => {
            let (r, w) = s.into_split();
            start!(r, w)
        }
        tls @ Stream::Tls(_) => {
            let (r, w) = tokio::io::split(tls);
            start!(r, w)
        }
    }
}

async fn writer(
    mut w: impl AsyncWrite + Unpin,
    mut rx: mpsc::Receiver<Request>,
    ptx: mpsc::UnboundedSender<Pending>,
    addr: Addr,
    closed: Arc<AtomicBool>,
    shutdown: watch::Sender<Shutdown>,
    mut shutdown_rx: watch::Receiver<Shutdown>,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        let first = tokio::select! {
            biased;
            _ = shutdown_rx.wait_for(|s| *s != Shutdown::Running) => break,
            r = rx.recv() => match r { Some(r) => r, None => break },
        };
        buf.clear();
        let mut batch = vec![first];
        while buf.len() < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        for req in batch {
            // A caller whose deadline already passed cancelled it: it must not run.
            if req
                .state
                .compare_exchange(QUEUED, WRITTEN, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                debug_assert_eq!(req.state.load(Ordering::Acquire), CANCELLED);
                continue;
            }
            buf.extend_from_slice(&req.bytes);
            let p = Pending {
                count: req.count,
                replies: Vec::with_capacity(req.count),
                tx: req.tx,
                _permit: req._permit,
            };
            // Registered before the bytes leave, so the reader always finds it.
            if let Err(e) = ptx.send(p) {
                let _ = e.0.tx.send(Err(not_run(&addr, "connection closed")));
            }
        }
        if buf.is_empty() {
            continue;
        }
        if let Err(e) = w.write_all(&buf).await {
            tracing::debug!(%addr, error = %e, "write failed");
            // The reader fails every registered request as "may have run" (part of the
            // batch may have reached the server).
            closed.store(true, Ordering::Release);
            shutdown.send_replace(Shutdown::WriteFailed);
            break;
        }
    }
    closed.store(true, Ordering::Release);
    drop(ptx);
    // Requests still queued were never written: they certainly did not run.
    rx.close();
    while let Ok(req) = rx.try_recv() {
        let _ = req.tx.send(Err(not_run(
            &addr,
            "connection closed before the request was sent",
        )));
    }
    let _ = w.shutdown().await;
}

async fn reader(
    mut r: impl AsyncRead + Unpin,
    mut decoder: Decoder,
    mut prx: mpsc::UnboundedReceiver<Pending>,
    addr: Addr,
    closed: Arc<AtomicBool>,
    shutdown: watch::Sender<Shutdown>,
    mut shutdown_rx: watch::Receiver<Shutdown>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut current: Option<Pending> = None;
    let failure: Error = loop {
        let n = tokio::select! {
            biased;
            r = r.read_buf(&mut buf) => r,
            why = shutdown_rx.wait_for(|s| *s != Shutdown::Running) => break match why.map(|w| *w) {
                Ok(Shutdown::WriteFailed) => lost(&addr, "write failed"),
                _ => Error::new(ErrorKind::Closed, Outcome::MayHaveRun, format!("connection to {addr} closed by the client")),
            },
        };
        match n {
            Ok(0) => break lost(&addr, "connection closed by the server"),
            Ok(_) => {}
            Err(e) => break lost(&addr, &format!("read failed: {e}")),
        }
        if let Err(e) = dispatch(&mut decoder, &mut buf, &mut prx, &mut current) {
            break e.context(format_args!("reply from {addr}"));
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
    };
    tracing::debug!(%addr, error = %failure, "connection ended");
    closed.store(true, Ordering::Release);
    shutdown.send_if_modified(|s| {
        let first = *s == Shutdown::Running;
        if first {
            *s = Shutdown::ByClient;
        }
        first
    });
    prx.close();
    for p in current
        .into_iter()
        .chain(std::iter::from_fn(|| prx.try_recv().ok()))
    {
        let _ = p.tx.send(Err(failure.clone()));
    }
}

/// Decodes every complete reply in `buf` and hands it to the oldest pending request.
fn dispatch(
    decoder: &mut Decoder,
    buf: &mut BytesMut,
    prx: &mut mpsc::UnboundedReceiver<Pending>,
    current: &mut Option<Pending>,
) -> Result<()> {
    while let Some(v) = decoder.decode(buf)? {
        if matches!(v, Value::Push(_)) {
            // Out-of-band (e.g. client-side caching invalidation): not a reply.
            continue;
        }
        let mut p = match current.take() {
            Some(p) => p,
            None => prx
                .try_recv()
                .map_err(|_| Error::protocol("a reply arrived with no request waiting for it"))?,
        };
        p.replies.push(v);
        if p.replies.len() == p.count {
            let _ = p.tx.send(Ok(p.replies));
        } else {
            *current = Some(p);
        }
    }
    Ok(())
}

fn lost(addr: &Addr, what: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        Outcome::MayHaveRun,
        format!("connection to {addr} lost: {what}"),
    )
}

fn not_run(addr: &Addr, what: &str) -> Error {
    Error::new(ErrorKind::Io, Outcome::NotRun, format!("{addr}: {what}"))
}
