//! One connection per node, opened on first use and replaced when it breaks. Concurrent callers
//! asking for the same node share one connect attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::conn::{ConnConfig, Connection, Credentials};
use crate::error::{Error, Result};
use crate::topology::Addr;

/// A node's pooled connection, and the lock that lets one caller at a time connect to it.
/// The connection sits beside the lock, under the map's (short, synchronous) lock, so a
/// request to a connected node takes no async lock: at hundreds in flight they queued on it.
#[derive(Debug, Default)]
struct Entry {
    conn: Option<Arc<Connection>>,
    connecting: Arc<tokio::sync::Mutex<()>>,
    /// Failed connect attempts so far, and the last one's error: callers that waited for the
    /// connect lock while an attempt failed share its failure instead of each trying again.
    failures: u64,
    last_error: Option<Error>,
}

#[derive(Debug)]
pub(crate) struct Pool {
    cfg: ConnConfig,
    slots: Mutex<HashMap<Addr, Entry>>,
}

impl Pool {
    pub fn new(cfg: ConnConfig) -> Self {
        Pool {
            cfg,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Addr, Entry>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live pooled connection to `addr`, if there is one.
    fn live(&self, addr: &Addr) -> Option<Arc<Connection>> {
        let slots = self.lock();
        let conn = slots.get(addr)?.conn.as_ref()?;
        (!conn.is_closed()).then(|| conn.clone())
    }

    /// The connect lock of `addr`'s entry and its failure count, creating the entry (the
    /// address is cloned only then).
    fn connect_lock(&self, addr: &Addr) -> (Arc<tokio::sync::Mutex<()>>, u64) {
        let mut slots = self.lock();
        if let Some(e) = slots.get(addr) {
            return (e.connecting.clone(), e.failures);
        }
        (slots.entry(addr.clone()).or_default().connecting.clone(), 0)
    }

    /// The error of an attempt that failed after `seen` failures were counted, if one did.
    fn failed_since(&self, addr: &Addr, seen: u64) -> Option<Error> {
        let slots = self.lock();
        let e = slots.get(addr)?;
        (e.failures != seen).then(|| e.last_error.clone()).flatten()
    }

    /// A live connection to the node announced as `addr`, connecting when there is none (to
    /// the remapped address: remapping happens here, at connect time, so a remap table that
    /// changes later, e.g. a service name now pointing at new IPs, is used on the next
    /// reconnect); `on_connect` runs once per real connection attempt (for metrics).
    pub async fn get(&self, addr: &Addr, on_connect: impl FnOnce()) -> Result<Arc<Connection>> {
        if let Some(c) = self.live(addr) {
            return Ok(c);
        }
        let (lock, seen) = self.connect_lock(addr);
        let _connecting = lock.lock().await;
        // Another caller may have connected while this one waited, or failed to: then this
        // caller shares that attempt's failure rather than making one more (requests queued
        // behind a dead node would otherwise try it one after another, each paying the
        // connect timeout, after the first failure had already marked it).
        if let Some(c) = self.live(addr) {
            return Ok(c);
        }
        if let Some(e) = self.failed_since(addr, seen) {
            return Err(e);
        }
        on_connect();
        let conn = match self.open(addr).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                let mut slots = self.lock();
                if let Some(entry) = slots.get_mut(addr) {
                    if Arc::ptr_eq(&entry.connecting, &lock) {
                        entry.failures += 1;
                        entry.last_error = Some(e.clone());
                    }
                }
                return Err(e);
            }
        };
        let mut slots = self.lock();
        // Pooled only while the entry is still the one this attempt locked: a node forgotten
        // meanwhile (`retain`) must not come back.
        if let Some(e) = slots.get_mut(addr) {
            if Arc::ptr_eq(&e.connecting, &lock) {
                e.conn = Some(conn.clone());
            }
        }
        Ok(conn)
    }

    /// Opens a new connection to the node announced as `addr`, outside the pool. The one place
    /// where announced addresses are remapped.
    pub async fn open(&self, addr: &Addr) -> Result<Connection> {
        let target = self.cfg.options.address_remap.apply(addr);
        Connection::connect(&target, &self.cfg).await
    }

    /// Who connections opened from now on authenticate as.
    pub fn set_credentials(&self, c: Credentials) {
        self.cfg.credentials.set(c);
    }

    /// A bare stream with the handshake done to the node announced as `addr` (remapped like
    /// every other connection): the base of the dedicated pub/sub connections.
    pub async fn open_stream(
        &self,
        addr: &Addr,
    ) -> Result<(crate::conn::Stream, crate::resp::Decoder)> {
        let target = self.cfg.options.address_remap.apply(addr);
        crate::conn::open_stream(&target, &self.cfg).await
    }

    /// Installs a connection opened elsewhere (by the health probe), unless the pool has a
    /// live one or a connect attempt is under way.
    pub fn put(&self, addr: &Addr, conn: Arc<Connection>) {
        let (lock, _) = self.connect_lock(addr);
        let Ok(_connecting) = lock.try_lock() else {
            return;
        };
        let mut slots = self.lock();
        if let Some(e) = slots.get_mut(addr) {
            if e.conn.as_ref().is_none_or(|c| c.is_closed()) {
                e.conn = Some(conn);
            }
        }
    }

    /// Closes the connection to `addr` (requests in flight on it fail as "may have run").
    pub fn close(&self, addr: &Addr) {
        self.retain(&|a| a != addr);
    }

    /// Closes and forgets the connections to every node not in `keep`.
    pub fn retain(&self, keep: &dyn Fn(&Addr) -> bool) {
        let mut slots = self.lock();
        slots.retain(|addr, e| {
            if keep(addr) {
                return true;
            }
            if let Some(c) = e.conn.as_ref() {
                c.close();
            }
            false
        });
    }

    /// Closes every connection.
    pub fn close_all(&self) {
        self.retain(&|_| false);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Options;

    /// Requests queued behind one connect attempt share its failure: a node that takes
    /// connections and never answers the handshake costs one connect timeout, not one each.
    #[tokio::test]
    async fn callers_waiting_on_a_failed_connect_share_its_failure() {
        // Accepted by the kernel (backlog), never answered: the handshake times out.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = Addr::parse(&silent.local_addr().expect("addr").to_string()).expect("addr");
        let timeout = Duration::from_millis(300);
        let cfg = ConnConfig::new(
            Options::default().with_connect_timeout(timeout),
            false,
            false,
        )
        .expect("config");
        let pool = Pool::new(cfg);
        let attempts = AtomicUsize::new(0);
        let started = Instant::now();
        let results = futures_util::future::join_all((0..5).map(|_| {
            pool.get(&addr, || {
                attempts.fetch_add(1, Ordering::SeqCst);
            })
        }))
        .await;
        assert!(results.iter().all(Result::is_err), "{results:?}");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "one attempt for five callers"
        );
        assert!(
            started.elapsed() < timeout * 3,
            "took {:?}: the callers tried one after another",
            started.elapsed()
        );
        // A caller that comes after the failure makes a new attempt of its own.
        assert!(pool
            .get(&addr, || {
                attempts.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }
}
