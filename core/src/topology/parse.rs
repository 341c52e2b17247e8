//! Parsers for `CLUSTER SHARDS` and `CLUSTER SLOTS` replies, in RESP2 (maps as flat arrays)
//! or RESP3 (maps) form. Servers differ between versions and configurations, so unknown
//! fields are ignored, but a reply of the wrong shape or with impossible numbers is a
//! Protocol error naming what was wrong: a bad view must never become the routing table.

use std::collections::HashMap;

use super::{normalize_ranges, Addr, Node, NodeHealth, Role, Shard};
use crate::error::{Error, Outcome, Result};
use crate::resp::Value;
use crate::slot::SLOT_COUNT;

/// The command ran (its reply is here); only the reply is unusable.
fn bad(what: &str, queried: &Addr, why: String) -> Error {
    Error::protocol(why)
        .with_outcome(Outcome::Ran)
        .context(format_args!("{what} reply from {queried}"))
}

/// The entries of a topology reply; a server error reply (e.g. an unknown subcommand on an
/// old server) is passed on as such, not as a bad reply.
fn top_level<'a>(reply: &'a Value, what: &str, queried: &Addr) -> Result<&'a [Value]> {
    if let Value::Error(message) = reply {
        return Err(Error::from_server(message));
    }
    reply.as_array().ok_or_else(|| {
        bad(
            what,
            queried,
            format!("expected an array, got {}", kind(reply)),
        )
    })
}

/// Parses a `CLUSTER SHARDS` reply (Redis >= 7). `queried` is the node that answered; its host
/// stands in for addresses the reply does not know (`?` or empty).
///
/// A node's address is its `endpoint` when known, else its `ip`, else `queried.host`; the port
/// is `port` (see [`parse_cluster_shards_tls`] for clients that speak TLS). Nodes with no usable port (absent or 0, as for a
/// node whose address the cluster does not know) are left out, and so are shards left
/// without a primary. When a shard lists several primaries (an old, failed one beside the
/// new one), the healthiest, then the most advanced, is kept.
pub fn parse_cluster_shards(reply: &Value, queried: &Addr) -> Result<Vec<Shard>> {
    parse_cluster_shards_tls(reply, queried, false)
}

/// [`parse_cluster_shards`] for a client that connects over TLS (`tls`): a node's port is
/// then its `tls-port` where it has one, else its `port`.
pub fn parse_cluster_shards_tls(reply: &Value, queried: &Addr, tls: bool) -> Result<Vec<Shard>> {
    const WHAT: &str = "CLUSTER SHARDS";
    let err = |why: String| bad(WHAT, queried, why);
    let entries = top_level(reply, WHAT, queried)?;
    let mut shards = Vec::with_capacity(entries.len());
    for (si, entry) in entries.iter().enumerate() {
        let pairs = entry
            .to_pairs()
            .ok_or_else(|| err(format!("shard {si} is not a map")))?;
        let mut slots = None;
        let mut nodes = None;
        for (k, v) in pairs {
            match k.as_str() {
                Some("slots") => slots = Some(v),
                Some("nodes") => nodes = Some(v),
                _ => {}
            }
        }
        let slots = slots.ok_or_else(|| err(format!("shard {si} has no slots")))?;
        let slots = parse_slot_list(slots).map_err(|why| err(format!("shard {si}: {why}")))?;
        let nodes = nodes
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("shard {si} has no nodes array")))?;
        let mut primary: Option<Node> = None;
        let mut replicas = Vec::new();
        for (ni, node) in nodes.iter().enumerate() {
            let node = parse_shard_node(node, queried, tls)
                .map_err(|why| err(format!("shard {si}, node {ni}: {why}")))?;
            let Some(node) = node else { continue };
            match node.role {
                Role::Replica => replicas.push(node),
                Role::Primary => {
                    if primary.as_ref().is_none_or(|p| rank(&node) > rank(p)) {
                        primary = Some(node);
                    }
                }
            }
        }
        if let Some(primary) = primary {
            shards.push(Shard::new(slots, primary, replicas));
        }
    }
    Ok(shards)
}

/// Orders candidate primaries: online before loading before failed, then by offset.
fn rank(node: &Node) -> (u8, u64) {
    let health = match node.health {
        NodeHealth::Online => 2,
        NodeHealth::Loading => 1,
        NodeHealth::Failed => 0,
    };
    (health, node.replication_offset)
}

/// A flat `[start, end, start, end, ...]` list, validated, sorted and merged.
fn parse_slot_list(v: &Value) -> Result<Vec<(u16, u16)>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("slots is {}, not an array", kind(v)))?;
    if items.len() % 2 != 0 {
        return Err(format!(
            "slots has an odd number of bounds ({})",
            items.len()
        ));
    }
    let mut ranges = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks_exact(2) {
        ranges.push(slot_range(&pair[0], &pair[1])?);
    }
    normalize_ranges(&mut ranges);
    Ok(ranges)
}

fn slot_range(start: &Value, end: &Value) -> Result<(u16, u16), String> {
    let start = slot_number(start)?;
    let end = slot_number(end)?;
    if start > end {
        return Err(format!("slot range {start}-{end} starts after it ends"));
    }
    Ok((start, end))
}

fn slot_number(v: &Value) -> Result<u16, String> {
    match v.as_int() {
        Some(n) if (0..i64::from(SLOT_COUNT)).contains(&n) => Ok(n as u16),
        Some(n) => Err(format!("slot {n} is out of range 0-16383")),
        None => Err(format!("slot is {}, not an integer", kind(v))),
    }
}

/// `Ok(None)` for a node with no usable port.
fn parse_shard_node(v: &Value, queried: &Addr, tls: bool) -> Result<Option<Node>, String> {
    let pairs = v
        .to_pairs()
        .ok_or_else(|| format!("{} is not a map", kind(v)))?;
    let mut id = String::new();
    let mut port = None;
    let mut tls_port = None;
    let mut ip = None;
    let mut endpoint = None;
    let mut role = None;
    let mut health = NodeHealth::Online;
    let mut offset = 0;
    for (k, v) in pairs {
        let Some(key) = k.as_str() else { continue };
        match key {
            "id" => id = text(v, "id")?.unwrap_or_default().to_owned(),
            "port" => port = port_number(v)?,
            "tls-port" => tls_port = port_number(v)?,
            "ip" => ip = text(v, "ip")?,
            "endpoint" => endpoint = text(v, "endpoint")?,
            "role" => {
                role = Some(match text(v, "role")? {
                    Some("master" | "primary") => Role::Primary,
                    Some("replica" | "slave") => Role::Replica,
                    other => return Err(format!("unknown role {other:?}")),
                })
            }
            "health" => {
                health = match text(v, "health")? {
                    Some("online") => NodeHealth::Online,
                    Some("loading") => NodeHealth::Loading,
                    // Redis 7.0 says "fail"; its documentation says "failed". Unknown
                    // states count as failed so nothing is routed on a guess.
                    _ => NodeHealth::Failed,
                }
            }
            "replication-offset" => {
                offset = match v.as_int() {
                    Some(n) if n >= 0 => n as u64,
                    _ => return Err(format!("bad replication-offset {}", kind(v))),
                }
            }
            _ => {}
        }
    }
    let role = role.ok_or("no role")?;
    let port = if tls { tls_port.or(port) } else { port };
    let Some(port) = port else { return Ok(None) };
    let host = [endpoint, ip]
        .into_iter()
        .flatten()
        .find(|h| known_host(h))
        .unwrap_or(&queried.host);
    Ok(Some(Node {
        id,
        addr: Addr::new(host, port),
        role,
        health,
        replication_offset: offset,
        config_epoch: 0,
    }))
}

/// `Ok(None)` for port 0 (unknown address); an error for anything not a valid port.
fn port_number(v: &Value) -> Result<Option<u16>, String> {
    match v.as_int() {
        Some(0) => Ok(None),
        Some(n) if (1..=i64::from(u16::MAX)).contains(&n) => Ok(Some(n as u16)),
        Some(n) => Err(format!("port {n} is out of range")),
        None => Err(format!("port is {}, not an integer", kind(v))),
    }
}

/// The text of a string value; `None` for nil; an error for anything else.
fn text<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, String> {
    match v {
        Value::Nil => Ok(None),
        v => v
            .as_str()
            .map(Some)
            .ok_or_else(|| format!("{field} is {}, not a string", kind(v))),
    }
}

/// Redis writes `?` (or nothing) for an address it does not know.
fn known_host(h: &str) -> bool {
    !h.is_empty() && h != "?"
}

/// Parses a `CLUSTER SLOTS` reply: entries `[start, end, primary, replica...]`, each node
/// `[host, port, id, {metadata}]`. An unknown host (`?` or empty) is replaced by the `ip` in
/// the node's metadata (Redis 7) or else by `queried.host`. Entries with the same primary id
/// (or address when ids are missing) merge into one shard; an entry whose primary has no
/// usable port is left out. All nodes are reported online: the reply does not say.
pub fn parse_cluster_slots(reply: &Value, queried: &Addr) -> Result<Vec<Shard>> {
    const WHAT: &str = "CLUSTER SLOTS";
    let err = |why: String| bad(WHAT, queried, why);
    let entries = top_level(reply, WHAT, queried)?;
    let mut shards: Vec<Shard> = Vec::new();
    let mut by_primary: HashMap<String, usize> = HashMap::new();
    for (ei, entry) in entries.iter().enumerate() {
        let items = match entry.as_array() {
            Some(items) if items.len() >= 3 => items,
            _ => return Err(err(format!("entry {ei} is not [start, end, primary, ...]"))),
        };
        let range =
            slot_range(&items[0], &items[1]).map_err(|why| err(format!("entry {ei}: {why}")))?;
        let mut nodes = Vec::with_capacity(items.len() - 2);
        for (ni, node) in items[2..].iter().enumerate() {
            let role = if ni == 0 {
                Role::Primary
            } else {
                Role::Replica
            };
            let node = parse_slots_node(node, role, queried)
                .map_err(|why| err(format!("entry {ei}, node {ni}: {why}")))?;
            nodes.push(node);
        }
        let mut nodes = nodes.into_iter();
        let Some(Some(primary)) = nodes.next() else {
            continue;
        };
        let replicas = nodes.flatten();
        let key = if primary.id.is_empty() {
            primary.addr.to_string()
        } else {
            primary.id.clone()
        };
        match by_primary.get(&key) {
            Some(&i) => {
                let shard = &mut shards[i];
                shard.slots.push(range);
                for r in replicas {
                    if !shard.replicas.iter().any(|x| x.addr == r.addr) {
                        shard.replicas.push(r);
                    }
                }
            }
            None => {
                by_primary.insert(key, shards.len());
                shards.push(Shard::new(vec![range], primary, replicas.collect()));
            }
        }
    }
    for shard in &mut shards {
        normalize_ranges(&mut shard.slots);
    }
    Ok(shards)
}

/// `Ok(None)` for a node with port 0.
fn parse_slots_node(v: &Value, role: Role, queried: &Addr) -> Result<Option<Node>, String> {
    let items = match v.as_array() {
        Some(items) if items.len() >= 2 => items,
        _ => return Err(format!("{} is not [host, port, ...]", kind(v))),
    };
    let host = text(&items[0], "host")?;
    let Some(port) = port_number(&items[1])? else {
        return Ok(None);
    };
    let id = match items.get(2) {
        Some(v) => text(v, "id")?.unwrap_or_default().to_owned(),
        None => String::new(),
    };
    let host = match host.filter(|h| known_host(h)) {
        Some(h) => h.to_owned(),
        None => metadata_ip(items.get(3)).unwrap_or_else(|| queried.host.clone()),
    };
    Ok(Some(Node {
        id,
        addr: Addr::new(host, port),
        role,
        health: NodeHealth::Online,
        replication_offset: 0,
        config_epoch: 0,
    }))
}

/// The `ip` of a node's metadata map (`{ip: ..., hostname: ...}` in Redis 7), when usable.
/// Metadata of another shape is ignored: it is optional and may grow.
fn metadata_ip(meta: Option<&Value>) -> Option<String> {
    meta?
        .to_pairs()?
        .into_iter()
        .find(|(k, _)| k.as_str() == Some("ip"))
        .and_then(|(_, v)| v.as_str())
        .filter(|h| known_host(h))
        .map(str::to_owned)
}

/// A short name of a value's type for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::Double(_) => "a double",
        Value::Boolean(_) => "a boolean",
        Value::BigNumber(_) => "a big number",
        Value::Simple(_) | Value::Bulk(_) | Value::Verbatim { .. } => "a string",
        Value::Error(_) => "an error reply",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        Value::Set(_) => "a set",
        Value::Push(_) => "a push",
    }
}
