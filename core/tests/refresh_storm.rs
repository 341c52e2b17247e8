//! Scenario 8 of the resilience issue: a refresh storm. Slots move while the client still
//! routes them to their old owner; thousands of concurrent requests then hit MOVED at once.
//! Their refresh triggers coalesce, and a minimum gap spaces refreshes out, so the servers
//! see only a few topology queries, counted on the servers themselves (`INFO commandstats`,
//! `cmdstat_cluster|shards` summed over every node). One startup node, so the count is not
//! inflated by asking every seed.

mod admin;
mod support;
mod workload;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use slotwise::{cmd, Client, Options, Trigger, Value};
use support::Deployment;
use workload::eventually;

const REQUESTS: usize = 5000;
const SLOTS: usize = 64;
const MAX_QUERIES: u64 = 30;

fn shards_queries(d: &Deployment) -> u64 {
    (0..d.nodes.len())
        .map(|i| admin::cmdstat_calls(d, i, "cluster|shards"))
        .sum()
}

/// Bytes of `GET key` in RESP.
fn get_len(key: &str) -> usize {
    format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).len()
}

/// Bytes queued in the kernel on TCP connections to `addr` ("ip:port"): unread by the server
/// plus not yet delivered by the client (from /proc/net/tcp).
fn queued_bytes(addr: &str) -> usize {
    let (ip, port) = addr.rsplit_once(':').unwrap();
    let ip: std::net::Ipv4Addr = ip.parse().unwrap();
    let hex = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(ip.octets()),
        port.parse::<u16>().unwrap()
    );
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (tx, rx) = f.get(4)?.split_once(':')?;
            let (tx, rx) = (
                usize::from_str_radix(tx, 16).ok()?,
                usize::from_str_radix(rx, 16).ok()?,
            );
            if *f.get(1)? == hex {
                Some(rx)
            } else if *f.get(2)? == hex {
                Some(tx)
            } else {
                None
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_moved_replies_cause_only_a_few_topology_queries() {
    let d = Deployment::cluster(3, 0);
    let opts = Options::default().with_request_timeout(Duration::from_secs(10));
    // The one startup node is the primary not involved in the move.
    let (from, to, seed) = (0, 1, 2);
    let client = Client::cluster([&d.seeds[seed]], opts)
        .await
        .expect("connect");
    let owned = admin::slots_of(&d, from);
    let slots: Vec<u16> = owned[..SLOTS].to_vec();
    let tags = admin::tags_for_slots(&slots);
    let keys: Vec<String> = (0..REQUESTS)
        .map(|i| format!("{{{}}}:storm:{i}", tags[i % SLOTS]))
        .collect();
    // Connections to every primary are open, so the storm measures refreshes, not connects.
    for i in 0..3 {
        let tag = &admin::tags_for_slots(&[admin::slots_of(&d, i)[0]])[0];
        client
            .execute(cmd("GET").arg(format!("{{{tag}}}:warm")))
            .await
            .expect("warm-up");
    }

    let before = shards_queries(&d);
    let m0 = client.metrics();
    tokio::task::block_in_place(|| admin::migrate_slots(&d, from, to, &slots));
    // The old owner is paused (SIGSTOP) while the requests are sent, so every one of them is
    // in flight before the first MOVED comes back. Left alone, the client's own quick
    // follow-up (the slot patched at the first MOVED, then a refresh) keeps most of them
    // from ever meeting a MOVED. (CLIENT PAUSE would not do: it holds commands, not the
    // MOVED replies a node sends for slots it does not own.)
    d.signal(from, "STOP");
    let t0 = Instant::now();
    let tasks: Vec<_> = keys
        .iter()
        .map(|k| {
            let (client, get) = (client.clone(), cmd("GET").arg(k));
            tokio::spawn(async move { client.execute(get).await })
        })
        .collect();
    let bytes: usize = keys.iter().map(|k| get_len(k)).sum();
    let target = d.nodes[from].addr();
    eventually(
        "every request reached the paused node's socket",
        Duration::from_secs(10),
        || queued_bytes(&target) >= bytes,
    )
    .await;
    d.signal(from, "CONT");
    let replies: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("request task"))
        .collect();
    let storm = t0.elapsed();
    let failed: Vec<_> = replies
        .iter()
        .filter(|r| !matches!(r, Ok(Value::Nil)))
        .collect();
    assert!(
        failed.is_empty(),
        "{} requests failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );

    // Let the refresher finish what the storm triggered: no new topology query for 500 ms.
    let (mut last, mut since) = (client.metrics().topology_queries, Instant::now());
    while since.elapsed() < Duration::from_millis(500) {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the refresher never settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let q = client.metrics().topology_queries;
        if q != last {
            (last, since) = (q, Instant::now());
        }
    }
    let topo = client.topology();
    let target = d.nodes[to].addr();
    assert!(
        slots.iter().all(
            |s| topo.shard_for_slot(*s).map(|x| x.primary.addr.to_string()) == Some(target.clone())
        ),
        "the client routes every moved slot to its new owner"
    );
    let m = client.metrics();
    let queries = shards_queries(&d) - before;
    let moved = m.moved_redirects - m0.moved_redirects;
    let refreshes =
        |m: &slotwise::MetricsSnapshot| m.refreshes.get(&Trigger::Moved).copied().unwrap_or(0);
    println!(
        "MEASURE refresh storm: requests={REQUESTS} slots_moved={SLOTS} failed=0 storm_took={storm:?} \
         moved_replies={moved} refreshes_by_moved={} cluster_shards_calls_on_servers={queries} \
         client_topology_queries={}",
        refreshes(&m) - refreshes(&m0),
        m.topology_queries - m0.topology_queries,
    );
    assert!(
        moved >= REQUESTS as u64 * 9 / 10,
        "the storm hit MOVED ({moved} times)"
    );
    assert!(
        queries <= MAX_QUERIES,
        "{queries} CLUSTER SHARDS calls for one slot move (at most {MAX_QUERIES})"
    );
}
