//! Address remapping: every address the deployment announces (topology replies, MOVED/ASK
//! targets, later Sentinel replies) passes through here before any connection is made, so a
//! NAT, a port-forward or a stable service name can stand in for what the nodes say.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::topology::Addr;

/// A user callback: `Some(new)` to rewrite an announced address, `None` to keep it.
pub type RemapFn = dyn Fn(&Addr) -> Option<Addr> + Send + Sync;

/// A static map plus an optional callback; the map is consulted first.
#[derive(Clone, Default)]
pub struct AddressRemap {
    map: HashMap<Addr, Addr>,
    callback: Option<Arc<RemapFn>>,
}

impl AddressRemap {
    /// True when nothing is remapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.callback.is_none()
    }

    /// Adds one static rewrite.
    pub fn insert(&mut self, from: Addr, to: Addr) {
        self.map.insert(from, to);
    }

    /// Sets the callback.
    pub fn set_callback(&mut self, f: Arc<RemapFn>) {
        self.callback = Some(f);
    }

    /// The address to connect to for an announced one.
    pub fn apply(&self, announced: &Addr) -> Addr {
        if let Some(to) = self.map.get(announced) {
            return to.clone();
        }
        if let Some(f) = &self.callback {
            if let Some(to) = f(announced) {
                return to;
            }
        }
        announced.clone()
    }
}

impl fmt::Debug for AddressRemap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressRemap")
            .field("map", &self.map)
            .field("callback", &self.callback.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// Maps a startup address to the addresses to try (service discovery); an error is reported
/// with the other sources' errors when no source answers.
pub type ResolverFn = dyn Fn(&Addr) -> Result<Vec<Addr>, String> + Send + Sync;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_first_then_callback_then_unchanged() {
        let mut r = AddressRemap::default();
        assert!(r.is_empty());
        r.insert(Addr::new("10.0.0.5", 6379), Addr::new("127.0.0.1", 7000));
        r.set_callback(Arc::new(|a: &Addr| {
            (a.port == 6380).then(|| Addr::new("127.0.0.2", 7001))
        }));
        assert_eq!(
            r.apply(&Addr::new("10.0.0.5", 6379)),
            Addr::new("127.0.0.1", 7000)
        );
        assert_eq!(
            r.apply(&Addr::new("10.0.0.9", 6380)),
            Addr::new("127.0.0.2", 7001)
        );
        assert_eq!(
            r.apply(&Addr::new("10.0.0.9", 6381)),
            Addr::new("10.0.0.9", 6381)
        );
    }
}
