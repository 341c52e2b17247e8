//! A cluster-wide SCAN while the topology changes under it, against a real cluster: every key
//! that exists for the whole scan must come back, whichever way its slot moved.

mod admin;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use slotwise::slot::key_slot;
use slotwise::{cmd, Client, Options, Value};
use support::Deployment;

const KEYS: usize = 3000;

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_secs(10))
}

fn key(i: usize) -> String {
    format!("sc:{i}")
}

async fn write_keys(client: &Client) {
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(500) {
        let mut p = client.pipeline();
        for &i in chunk {
            p.add(cmd("SET").arg(key(i)).arg(i));
        }
        for r in p.execute().await {
            r.expect("SET");
        }
    }
}

fn text(v: &Value) -> String {
    String::from_utf8_lossy(v.as_bytes().expect("a key")).into_owned()
}

/// The deployment index of the primary owning `k` in the client's view.
fn owner(d: &Deployment, client: &Client, k: &str) -> usize {
    let topo = client.topology();
    let shard = topo.shard_for_slot(key_slot(k.as_bytes())).expect("owner");
    admin::index_of(d, &shard.primary.addr)
}

/// Slots of node `i` that hold at least one of the test's keys, `n` of them.
fn loaded_slots(d: &Deployment, i: usize, n: usize) -> Vec<u16> {
    let owned: HashSet<u16> = admin::slots_of(d, i).into_iter().collect();
    let mut slots: Vec<u16> = (0..KEYS)
        .map(|i| key_slot(key(i).as_bytes()))
        .filter(|s| owned.contains(s))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    slots.sort_unstable();
    slots.truncate(n);
    slots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_during_slot_moves_returns_every_key_that_existed_throughout() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    write_keys(&client).await;

    let mut scan = client.scan(Some(b"sc:*"), Some(50));
    let mut seen: HashSet<String> = HashSet::new();
    let mut order: Vec<usize> = Vec::new();
    // Read until the second node's walk is under way: the first is done, the third not started.
    while order.len() < 2 {
        let page = scan.next_page().await.expect("page").expect("not done yet");
        for k in &page {
            let k = text(k);
            let o = owner(&d, &client, &k);
            if !order.contains(&o) {
                order.push(o);
            }
            seen.insert(k);
        }
    }
    let (walked, walking) = (order[0], order[1]);
    let later = (0..3)
        .find(|i| !order.contains(i))
        .expect("a third primary");

    // Slots move to the node already walked: from the node not walked yet, and from the node
    // being walked. Their keys exist throughout but are no longer where SCAN would meet them.
    let from_later = loaded_slots(&d, later, 20);
    let from_walking = loaded_slots(&d, walking, 20);
    tokio::task::block_in_place(|| {
        admin::migrate_slots(&d, later, walked, &from_later);
        admin::migrate_slots(&d, walking, walked, &from_walking);
    });

    let mut pages = 0;
    while let Some(page) = scan.next_page().await.expect("page") {
        seen.extend(page.iter().map(text));
        pages += 1;
        assert!(pages < 10_000, "the scan ends");
    }
    let missing: Vec<String> = (0..KEYS).map(key).filter(|k| !seen.contains(k)).collect();
    let moved: HashSet<u16> = from_later.iter().chain(&from_walking).copied().collect();
    let missing_moved = missing
        .iter()
        .filter(|k| moved.contains(&key_slot(k.as_bytes())))
        .count();
    assert!(
        missing.is_empty(),
        "{} keys missing ({missing_moved} in moved slots), e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_survives_a_primary_killed_mid_walk() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(
        &d.seeds,
        Options::default().with_request_timeout(Duration::from_secs(3)),
    )
    .await
    .expect("connect");
    write_keys(&client).await;

    let mut scan = client.scan(Some(b"sc:*"), Some(20));
    let mut seen: HashSet<String> = HashSet::new();
    let page = scan.next_page().await.expect("page").expect("a first page");
    assert!(!page.is_empty());
    let first = text(&page[0]);
    seen.extend(page.iter().map(text));
    // The node being walked dies; its replica takes over with the same keys.
    let (victim, replica) = admin::shard_of(&d, &client, &first);
    let replica = replica.expect("a replica");
    d.signal(victim, "KILL");
    admin::wait_promoted(&d, replica, Duration::from_secs(20)).await;

    let mut pages = 0;
    while let Some(page) = scan.next_page().await.expect("page") {
        seen.extend(page.iter().map(text));
        pages += 1;
        assert!(pages < 10_000, "the scan ends");
    }
    let missing = (0..KEYS).map(key).filter(|k| !seen.contains(k)).count();
    assert_eq!(missing, 0, "every key came back");
}
