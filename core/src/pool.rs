//! One connection per node, opened on first use and replaced when it breaks. Concurrent callers
//! asking for the same node share one connect attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::conn::{ConnConfig, Connection};
use crate::error::Result;
use crate::topology::Addr;

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

#[derive(Debug)]
pub(crate) struct Pool {
    cfg: ConnConfig,
    slots: Mutex<HashMap<Addr, Slot>>,
}

impl Pool {
    pub fn new(cfg: ConnConfig) -> Self {
        Pool {
            cfg,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, addr: &Addr) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Look up before inserting: `entry` would clone the address (a String) per request.
        if let Some(slot) = slots.get(addr) {
            return slot.clone();
        }
        slots.entry(addr.clone()).or_default().clone()
    }

    /// A live connection to the node announced as `addr`, connecting when there is none (to
    /// the remapped address: remapping happens here, at connect time, so a remap table that
    /// changes later, e.g. a service name now pointing at new IPs, is used on the next
    /// reconnect); `on_connect` runs once per real connection attempt (for metrics).
    pub async fn get(&self, addr: &Addr, on_connect: impl FnOnce()) -> Result<Arc<Connection>> {
        let slot = self.slot(addr);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref() {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        *guard = None;
        on_connect();
        let conn = Arc::new(self.open(addr).await?);
        *guard = Some(conn.clone());
        Ok(conn)
    }

    /// Opens a new connection to the node announced as `addr`, outside the pool. The one place
    /// where announced addresses are remapped.
    pub async fn open(&self, addr: &Addr) -> Result<Connection> {
        let target = self.cfg.options.address_remap.apply(addr);
        Connection::connect(&target, &self.cfg).await
    }

    /// Installs a connection opened elsewhere (by the health probe).
    pub fn put(&self, addr: &Addr, conn: Arc<Connection>) {
        let slot = self.slot(addr);
        let Ok(mut g) = slot.try_lock() else { return };
        if g.as_ref().is_none_or(|c| c.is_closed()) {
            *g = Some(conn);
        }
    }

    /// Closes the connection to `addr` (requests in flight on it fail as "may have run").
    pub fn close(&self, addr: &Addr) {
        self.retain(&|a| a != addr);
    }

    /// Closes and forgets the connections to every node not in `keep`.
    pub fn retain(&self, keep: &dyn Fn(&Addr) -> bool) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|addr, slot| {
            if keep(addr) {
                return true;
            }
            if let Ok(g) = slot.try_lock() {
                if let Some(c) = g.as_ref() {
                    c.close();
                }
            }
            false
        });
    }

    /// Closes every connection.
    pub fn close_all(&self) {
        self.retain(&|_| false);
    }
}
