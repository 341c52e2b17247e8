//! One connection per node, opened on first use and replaced when it breaks. Concurrent callers
//! asking for the same node share one connect attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::conn::{ConnConfig, Connection, Credentials};
use crate::error::Result;
use crate::topology::Addr;

/// A node's pooled connection, and the lock that lets one caller at a time connect to it.
/// The connection sits beside the lock, under the map's (short, synchronous) lock, so a
/// request to a connected node takes no async lock: at hundreds in flight they queued on it.
#[derive(Debug, Default)]
struct Entry {
    conn: Option<Arc<Connection>>,
    connecting: Arc<tokio::sync::Mutex<()>>,
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

    /// The connect lock of `addr`'s entry, creating the entry (the address is cloned only then).
    fn connect_lock(&self, addr: &Addr) -> Arc<tokio::sync::Mutex<()>> {
        let mut slots = self.lock();
        if let Some(e) = slots.get(addr) {
            return e.connecting.clone();
        }
        slots.entry(addr.clone()).or_default().connecting.clone()
    }

    /// A live connection to the node announced as `addr`, connecting when there is none (to
    /// the remapped address: remapping happens here, at connect time, so a remap table that
    /// changes later, e.g. a service name now pointing at new IPs, is used on the next
    /// reconnect); `on_connect` runs once per real connection attempt (for metrics).
    pub async fn get(&self, addr: &Addr, on_connect: impl FnOnce()) -> Result<Arc<Connection>> {
        if let Some(c) = self.live(addr) {
            return Ok(c);
        }
        let lock = self.connect_lock(addr);
        let _connecting = lock.lock().await;
        // Another caller may have connected while this one waited.
        if let Some(c) = self.live(addr) {
            return Ok(c);
        }
        on_connect();
        let conn = Arc::new(self.open(addr).await?);
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
        let lock = self.connect_lock(addr);
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
