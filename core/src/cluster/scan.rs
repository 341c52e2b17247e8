//! A keyspace scan across every primary: SCAN's cursor belongs to one node, so the scan walks
//! the primaries one after the other, each with its own cursor.

use std::sync::Arc;

use bytes::Bytes;

use super::{Core, Target};
use crate::cmd;
use crate::error::{Error, Result};
use crate::resp::Value;
use crate::topology::Addr;

/// An iteration over every key of the deployment, page by page. Created by
/// [`crate::Client::scan`];
/// call [`Scan::next_page`] until it returns `None`. Keys that exist for the whole scan are
/// returned at least once (SCAN's own guarantee, per node); the primaries are those known
/// when the scan started.
#[derive(Debug)]
pub struct Scan {
    core: Arc<Core>,
    nodes: Vec<Addr>,
    node: usize,
    cursor: Bytes,
    pattern: Option<Bytes>,
    count: Option<u64>,
}

impl Scan {
    pub(crate) fn new(core: Arc<Core>, pattern: Option<&[u8]>, count: Option<u64>) -> Scan {
        Scan {
            nodes: core
                .topology()
                .primaries()
                .map(|n| n.addr.clone())
                .collect(),
            core,
            node: 0,
            cursor: Bytes::from_static(b"0"),
            pattern: pattern.map(Bytes::copy_from_slice),
            count,
        }
    }

    /// The next page of keys (possibly empty), or `None` when every primary has been scanned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        let Some(addr) = self.nodes.get(self.node).cloned() else {
            return Ok(None);
        };
        let mut c = cmd("SCAN").arg(self.cursor.clone());
        if let Some(p) = &self.pattern {
            c = c.arg("MATCH").arg(p.clone());
        }
        if let Some(n) = self.count {
            c = c.arg("COUNT").arg(n);
        }
        let reply = self
            .core
            .run(&c, Target::Node(addr), true, self.core.deadline())
            .await?;
        let (cursor, keys) = match reply {
            Value::Array(mut parts) if parts.len() == 2 => {
                let keys = parts.pop().unwrap_or(Value::Nil);
                let cursor = parts.pop().unwrap_or(Value::Nil);
                (cursor, keys)
            }
            other => return Err(Error::protocol(format!("unexpected SCAN reply {other:?}"))),
        };
        let cursor = cursor
            .as_bytes()
            .map(Bytes::copy_from_slice)
            .ok_or_else(|| Error::protocol("SCAN cursor is not a string"))?;
        if &cursor[..] == b"0" {
            self.node += 1;
            self.cursor = Bytes::from_static(b"0");
        } else {
            self.cursor = cursor;
        }
        match keys {
            Value::Array(k) | Value::Set(k) => Ok(Some(k)),
            other => Err(Error::protocol(format!("unexpected SCAN keys {other:?}"))),
        }
    }
}
