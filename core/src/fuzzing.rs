//! Entry points for the fuzz targets (`fuzz/`) and their stable regression tests
//! (`core/tests/fuzz_corpus.rs`). Not part of the API: each function feeds arbitrary bytes to
//! one parser and panics only when an invariant of that parser is broken, so a fuzzer's crash
//! is a real bug. Each also returns normally on every error the parser reports, since a clear
//! error is the right answer to bad input.

use bytes::BytesMut;

use crate::cluster::redirect::{classify, Reply};
use crate::config::Options;
use crate::resp::{Decoder, Limits, Value};
use crate::slot::SLOT_COUNT;
use crate::topology::{parse_cluster_shards, parse_cluster_slots, Addr, Topology};

/// Small limits, so inputs of a few kilobytes reach every limit check.
const SMALL: Limits = Limits {
    max_depth: 8,
    max_bulk_len: 256,
    max_aggregate_len: 64,
};

/// Every value in `data`, decoded from the whole buffer, then the error if one stops it.
fn decode_all(data: &[u8], limits: Limits, chunk: usize) -> (Vec<Value>, bool) {
    let mut decoder = Decoder::new(limits);
    let mut buf = BytesMut::new();
    let mut values = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => values.push(v),
                Ok(None) => break,
                Err(_) => {
                    assert!(
                        decoder.decode(&mut buf).is_err(),
                        "a failed decoder must stay failed"
                    );
                    return (values, true);
                }
            }
        }
    }
    (values, false)
}

/// RESP decoder: never panics; a buffer fed in pieces decodes exactly as when fed whole.
pub fn resp(data: &[u8]) {
    let chunk = usize::from(data.first().copied().unwrap_or(1) % 7) + 1;
    for limits in [Limits::default(), SMALL] {
        let whole = decode_all(data, limits, data.len());
        let pieces = decode_all(data, limits, chunk);
        // Compared as text: NaN doubles are not equal to themselves.
        assert_eq!(
            format!("{whole:?}"),
            format!("{pieces:?}"),
            "chunk size {chunk} changed the decoding"
        );
    }
}

/// The first value in `data` (a topology reply on the wire), if it decodes.
fn first_value(data: &[u8]) -> Option<Value> {
    let mut buf = BytesMut::from(data);
    Decoder::new(Limits::default())
        .decode(&mut buf)
        .ok()
        .flatten()
}

/// What every topology built from a server reply must satisfy.
fn check_topology(shards: Vec<crate::topology::Shard>) {
    for shard in &shards {
        assert!(shard.primary.addr.port != 0, "a node without a port");
        assert!(!shard.primary.addr.host.is_empty(), "a node without a host");
        for r in &shard.replicas {
            assert!(
                r.addr.port != 0 && !r.addr.host.is_empty(),
                "bad replica address"
            );
        }
    }
    let Ok(topology) = Topology::from_shards(shards) else {
        return;
    };
    let mut covered = 0;
    for slot in 0..SLOT_COUNT {
        if let Some(shard) = topology.shard_for_slot(slot) {
            covered += 1;
            assert!(
                shard.slots.iter().any(|&(s, e)| s <= slot && slot <= e),
                "slot {slot} routed to a shard that does not list it"
            );
        }
    }
    assert_eq!(covered, topology.covered_slots());
}

/// `CLUSTER SHARDS` parser on a decoded reply.
pub fn cluster_shards(data: &[u8]) {
    if let Some(v) = first_value(data) {
        if let Ok(shards) = parse_cluster_shards(&v, &Addr::new("127.0.0.1", 7000)) {
            check_topology(shards);
        }
    }
}

/// `CLUSTER SLOTS` parser on a decoded reply.
pub fn cluster_slots(data: &[u8]) {
    if let Some(v) = first_value(data) {
        if let Ok(shards) = parse_cluster_slots(&v, &Addr::new("127.0.0.1", 7000)) {
            check_topology(shards);
        }
    }
}

/// MOVED/ASK parsing: a redirect names a real slot and a usable address.
pub fn redirect(data: &[u8]) {
    let from = Addr::new("127.0.0.9", 7000);
    match classify(data, &from) {
        Reply::Moved(slot, addr) => {
            assert!(slot < SLOT_COUNT);
            assert!(addr.port != 0 && !addr.host.is_empty(), "{addr:?}");
        }
        Reply::Ask(addr) => assert!(addr.port != 0 && !addr.host.is_empty(), "{addr:?}"),
        Reply::Transient(e) => assert!(e.kind().is_transient_server_state()),
        Reply::NoScript(_) | Reply::Final(_) => {}
    }
}

/// Option validation and seed-address parsing: the first 16 bytes set numeric options, the
/// rest is a newline-separated list of seed addresses.
pub fn options(data: &[u8]) {
    use std::time::Duration;
    let byte = |i: usize| data.get(i).copied().unwrap_or(1);
    let ms = |i: usize| Duration::from_millis(u64::from(byte(i)) * 7);
    let mut o = Options::default()
        .with_request_timeout(ms(0))
        .with_connect_timeout(ms(1))
        .with_refresh_interval(ms(2))
        .with_topology_query_timeout(ms(3))
        .with_probe_interval(ms(4))
        .with_sentinel_poll_interval(ms(5))
        .with_failover_fence_timeout(ms(6))
        .with_max_inflight(usize::from(byte(7)) * 3)
        .with_db(u32::from(byte(8)));
    o.max_redirects = usize::from(byte(9));
    o.min_refresh_gap = ms(10);
    let valid = o.validate().is_ok();
    let positive = (0..=6).all(|i| byte(i) != 0) && byte(7) != 0;
    assert_eq!(valid, positive, "validate() disagrees for {o:?}");

    let text = String::from_utf8_lossy(data.get(16..).unwrap_or_default());
    for line in text.lines() {
        if let Ok(addr) = Addr::parse(line) {
            assert!(addr.port != 0 && !addr.host.is_empty());
            let again = Addr::parse(&addr.to_string());
            assert_eq!(
                again.as_ref().ok(),
                Some(&addr),
                "{line:?} does not round-trip"
            );
        }
    }
    let _ = crate::client::parse_addrs(text.lines());
}

/// `CLUSTER NODES` epoch reader: every id it returns is one whole, non-empty field.
pub fn cluster_nodes(data: &[u8]) {
    for id in crate::topology::parse_config_epochs(data).keys() {
        assert!(!id.is_empty() && !id.contains([' ', '\n']), "{id:?}");
    }
}

/// Connection URL parsing: every address of a parsed URL is one the core can connect to, and a
/// password never shows in `Debug` output or in an error.
pub fn url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match crate::url::ConnectionUrl::parse(&text) {
        Ok(u) => {
            assert!(!u.addresses.is_empty(), "{u:?}");
            for a in &u.addresses {
                let addr = Addr::parse(a);
                assert!(addr.is_ok(), "{a:?} from {text:?} does not parse: {addr:?}");
            }
            if let Some(pw) = u.password.as_deref().filter(|p| secret_enough(p, &text)) {
                assert!(!format!("{u:?}").contains(pw), "password in {u:?}");
            }
        }
        Err(e) => {
            // The text between "://" and the last "@" holds the credentials, unless a query
            // or fragment starts before that "@" (then it is not credentials, and quoting a
            // bad query is right).
            let creds = text
                .split_once("://")
                .and_then(|(_, rest)| rest.rsplit_once('@'))
                .map(|(c, _)| c)
                .filter(|c| !c.contains(['?', '#']));
            if let Some(pw) = creds.and_then(|c| c.split_once(':')).map(|(_, p)| p) {
                if secret_enough(pw, &text) {
                    assert!(!e.message().contains(pw), "password in error: {e}");
                }
            }
        }
    }
}

/// A password long enough, and found once in the URL, so that finding it elsewhere means it
/// leaked rather than that it is also some other part of the URL.
fn secret_enough(pw: &str, url: &str) -> bool {
    pw.len() >= 6 && url.matches(pw).count() == 1
}
