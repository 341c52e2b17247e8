//! Cluster administration for the resilience scenarios, over plain RESP2 connections to single
//! nodes: slot migration, FORGET, failovers, and reading a node's counters (`INFO
//! commandstats`, `SLOWLOG`, `ROLE`). The client under test refuses these commands on its
//! shared connections, and one `redis-cli` process per command is too slow to migrate slots
//! while a workload runs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::Deployment;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The reply as text: strings as they are, integers in decimal, errors as their message.
    pub fn text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Error(s) => s.clone(),
            Resp::Int(i) => i.to_string(),
            Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Resp::Bulk(None) | Resp::Array(None) => String::new(),
            Resp::Array(Some(items)) => items.iter().map(Resp::text).collect::<Vec<_>>().join(" "),
        }
    }

    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(Some(items)) => items,
            _ => &[],
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Resp::Error(_))
    }
}

/// A blocking RESP2 connection to one node (10 s read timeout: a hang fails the test).
pub struct Node {
    addr: String,
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Node {
    #[track_caller]
    pub fn connect(addr: &str) -> Node {
        Node::try_connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
    }

    pub fn try_connect(addr: &str) -> std::io::Result<Node> {
        let sa = addr
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let w = TcpStream::connect_timeout(&sa, Duration::from_secs(2))?;
        w.set_read_timeout(Some(Duration::from_secs(10)))?;
        w.set_nodelay(true).ok();
        let r = BufReader::new(w.try_clone()?);
        Ok(Node {
            addr: addr.to_string(),
            w,
            r,
        })
    }

    /// Sends one command and returns its reply (error replies included).
    #[track_caller]
    pub fn call<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Resp {
        self.pipeline(&[args.iter().map(|a| a.as_ref().to_vec()).collect()])
            .pop()
            .unwrap()
    }

    /// Like [`Node::call`], but panics unless the reply is `+OK`.
    #[track_caller]
    pub fn ok<S: AsRef<[u8]>>(&mut self, args: &[S]) {
        let r = self.call(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            .collect();
        assert_eq!(
            r,
            Resp::Simple("OK".into()),
            "{} on {}",
            shown.join(" "),
            self.addr
        );
    }

    /// Sends every command in one write and reads all the replies, in order.
    #[track_caller]
    pub fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> Vec<Resp> {
        let mut buf = Vec::new();
        for c in cmds {
            buf.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in c {
                buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                buf.extend_from_slice(a);
                buf.extend_from_slice(b"\r\n");
            }
        }
        self.w
            .write_all(&buf)
            .unwrap_or_else(|e| panic!("write to {}: {e}", self.addr));
        (0..cmds.len())
            .map(|_| {
                read_reply(&mut self.r).unwrap_or_else(|e| panic!("read from {}: {e}", self.addr))
            })
            .collect()
    }
}

fn read_reply(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, line.to_string());
    Ok(match kind {
        "+" => Resp::Simple(rest.to_string()),
        "-" => Resp::Error(rest.to_string()),
        ":" => Resp::Int(rest.parse().map_err(|_| bad())?),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Resp::Bulk(None)
            } else {
                let mut b = vec![0; n as usize + 2];
                r.read_exact(&mut b)?;
                b.truncate(n as usize);
                Resp::Bulk(Some(b))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Resp::Array(None)
            } else {
                let items = (0..n)
                    .map(|_| read_reply(r))
                    .collect::<std::io::Result<_>>()?;
                Resp::Array(Some(items))
            }
        }
        _ => return Err(bad()),
    })
}

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// A connection to node `i` of the deployment (its bound address, whatever it announces).
#[track_caller]
pub fn node(d: &Deployment, i: usize) -> Node {
    Node::connect(&d.nodes[i].addr())
}

/// `calls` of `cmdstat_<cmd>` in node `i`'s `INFO commandstats` (0 when never called).
/// Subcommands are written `cluster|shards`.
#[track_caller]
pub fn cmdstat_calls(d: &Deployment, i: usize, cmd: &str) -> u64 {
    let info = node(d, i).call(&["INFO", "commandstats"]).text();
    let prefix = format!("cmdstat_{cmd}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The first word of node `i`'s `ROLE` reply ("master" or "slave"), or `None` when the node
/// does not answer (refused).
pub fn role(d: &Deployment, i: usize) -> Option<String> {
    let mut n = Node::try_connect(&d.nodes[i].addr()).ok()?;
    Some(n.call(&["ROLE"]).items().first()?.text())
}

/// The deployment indices of the primaries node `via` knows of (failed ones excluded) that
/// still say they are primaries (gossip about a demotion may lag).
#[track_caller]
pub fn primaries_known_by(d: &Deployment, via: usize) -> Vec<usize> {
    let text = node(d, via).call(&["CLUSTER", "NODES"]).text();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let flags = f.get(2)?;
            let ok = flags.contains("master") && !flags.contains("fail");
            ok.then(|| d.nodes.iter().position(|n| n.id == f[0]))
                .flatten()
        })
        .filter(|&i| role(d, i).as_deref() == Some("master"))
        .collect()
}

/// Moves `slots` from primary `from` to primary `to` the way `redis-cli --cluster reshard`
/// does: IMPORTING on the target, MIGRATING on the source, MIGRATE the keys in batches, then
/// SETSLOT NODE on the target, the source, and every other primary. Blocking: call it from
/// `spawn_blocking` while a workload runs.
#[track_caller]
pub fn migrate_slots(d: &Deployment, from: usize, to: usize, slots: &[u16]) {
    let (src_id, dst_id) = (d.nodes[from].id.clone(), d.nodes[to].id.clone());
    let others: Vec<usize> = primaries_known_by(d, from)
        .into_iter()
        .filter(|&i| i != from && i != to)
        .collect();
    let (mut src, mut dst) = (node(d, from), node(d, to));
    let each = |verb: &str, id: &str| -> Vec<Vec<Vec<u8>>> {
        slots
            .iter()
            .map(|s| args(&["CLUSTER", "SETSLOT", &s.to_string(), verb, id]))
            .collect()
    };
    let check = |what: &str, replies: Vec<Resp>| {
        for (s, r) in slots.iter().zip(replies) {
            assert_eq!(r, Resp::Simple("OK".into()), "{what} for slot {s}");
        }
    };
    check("IMPORTING", dst.pipeline(&each("IMPORTING", &src_id)));
    check("MIGRATING", src.pipeline(&each("MIGRATING", &dst_id)));
    let (host, port) = (d.nodes[to].host.clone(), d.nodes[to].port.to_string());
    for s in slots {
        loop {
            let keys = src.call(&["CLUSTER", "GETKEYSINSLOT", &s.to_string(), "100"]);
            let keys: Vec<Vec<u8>> = keys.items().iter().map(|k| k.text().into_bytes()).collect();
            if keys.is_empty() {
                break;
            }
            let mut m = args(&["MIGRATE", &host, &port, "", "0", "5000", "KEYS"]);
            m.extend(keys);
            // A node that just saw a failover may call the cluster down for a moment: an
            // operator retries.
            let t0 = std::time::Instant::now();
            loop {
                let r = src.pipeline(std::slice::from_ref(&m)).pop().unwrap();
                if r == Resp::Simple("OK".into()) || r == Resp::Simple("NOKEY".into()) {
                    break;
                }
                assert!(
                    r.text().contains("CLUSTERDOWN") && t0.elapsed() < Duration::from_secs(10),
                    "MIGRATE slot {s}: {r:?}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    check("NODE on the target", dst.pipeline(&each("NODE", &dst_id)));
    check("NODE on the source", src.pipeline(&each("NODE", &dst_id)));
    for o in others {
        check(
            "NODE on another primary",
            node(d, o).pipeline(&each("NODE", &dst_id)),
        );
    }
}

/// `CLUSTER FORGET` node `gone` on every other node in `on` (replicas of `gone` excluded by
/// the caller: a replica cannot forget its own primary).
#[track_caller]
pub fn forget(d: &Deployment, gone: usize, on: &[usize]) {
    let id = d.nodes[gone].id.clone();
    for &i in on {
        node(d, i).ok(&["CLUSTER", "FORGET", id.as_str()]);
    }
}

/// The slot ranges node `i` serves, from its own `CLUSTER NODES` line.
#[track_caller]
pub fn slots_of(d: &Deployment, i: usize) -> Vec<u16> {
    let text = node(d, i).call(&["CLUSTER", "NODES"]).text();
    let me = text
        .lines()
        .find(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("myself")))
        .expect("a myself line")
        .to_string();
    let mut out = Vec::new();
    for r in me.split(' ').skip(8) {
        if r.starts_with('[') {
            continue;
        }
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let (a, b): (u16, u16) = (a.parse().unwrap(), b.parse().unwrap());
        out.extend(a..=b);
    }
    out
}

/// `SET` commands node `i` ran for connections named `client_name`, as (key, value), from
/// its slowlog (which the test must have enabled with `slowlog_everything`).
#[track_caller]
pub fn slowlog_sets(d: &Deployment, i: usize, client_name: &str) -> Vec<(String, u64)> {
    let log = node(d, i).call(&["SLOWLOG", "GET", "-1"]);
    log.items()
        .iter()
        .filter_map(|e| {
            let f = e.items();
            let args = f.get(3)?.items();
            let name = f.get(5)?.text();
            let is_set = args.first()?.text().eq_ignore_ascii_case("set");
            (is_set && name == client_name)
                .then(|| Some((args.get(1)?.text(), args.get(2)?.text().parse().ok()?)))
                .flatten()
        })
        .collect()
}

/// Makes node `i` log every command it runs in its slowlog (up to 1,000,000), from now on.
#[track_caller]
pub fn slowlog_everything(d: &Deployment, i: usize) {
    let mut n = node(d, i);
    n.ok(&["CONFIG", "SET", "slowlog-max-len", "1000000"]);
    n.ok(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    n.ok(&["SLOWLOG", "RESET"]);
}

/// Polls node `r`'s `ROLE` every 10 ms until it says "master"; returns when that was seen.
pub async fn wait_promoted(d: &Deployment, r: usize, timeout: Duration) -> std::time::Instant {
    let t0 = std::time::Instant::now();
    loop {
        if role(d, r).as_deref() == Some("master") {
            return std::time::Instant::now();
        }
        assert!(t0.elapsed() < timeout, "node {r} was never promoted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A hash tag for each of `slots` (keys `{tag}...` hash to that slot).
pub fn tags_for_slots(slots: &[u16]) -> Vec<String> {
    let mut found: std::collections::HashMap<u16, String> = std::collections::HashMap::new();
    let mut n = 0u64;
    while found.len() < slots.len() {
        let tag = format!("t{n}");
        let s = slotwise::slot::key_slot(tag.as_bytes());
        if slots.contains(&s) {
            found.entry(s).or_insert(tag);
        }
        n += 1;
    }
    slots.iter().map(|s| found[s].clone()).collect()
}

/// The deployment index of the node the client knows as `addr` (bound or announced address).
#[track_caller]
pub fn index_of(d: &Deployment, addr: &slotwise::Addr) -> usize {
    let a = addr.to_string();
    d.nodes
        .iter()
        .position(|n| n.addr() == a || n.announced.as_deref() == Some(a.as_str()))
        .unwrap_or_else(|| panic!("no node at {a}"))
}

/// The primary serving `tag`'s slot in the client's topology, and a replica of it, as
/// deployment indices.
#[track_caller]
pub fn shard_of(d: &Deployment, client: &slotwise::Client, tag: &str) -> (usize, Option<usize>) {
    let slot = slotwise::slot::key_slot(tag.as_bytes());
    let topo = client.topology();
    let shard = topo.shard_for_slot(slot).expect("the slot has an owner");
    let p = index_of(d, &shard.primary.addr);
    let r = shard.replicas.first().map(|r| index_of(d, &r.addr));
    (p, r)
}

/// The address the client's topology names as the primary of `tag`'s slot.
pub fn primary_of(client: &slotwise::Client, tag: &str) -> Option<String> {
    let slot = slotwise::slot::key_slot(tag.as_bytes());
    client
        .topology()
        .shard_for_slot(slot)
        .map(|s| s.primary.addr.to_string())
}

/// Node `i`'s `master_repl_offset` (on a replica: how far it has replicated).
#[track_caller]
pub fn repl_offset(d: &Deployment, i: usize) -> u64 {
    let info = node(d, i).call(&["INFO", "replication"]).text();
    info.lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
