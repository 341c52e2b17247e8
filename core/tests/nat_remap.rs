//! Scenario 7 of the resilience issue: NAT. The nodes announce addresses that do not exist
//! (names under `.invalid`, or ports nothing listens on) and the address remap makes them
//! reachable. Everything works: discovery from announced startup addresses, a graceful
//! failover, MOVED and ASK redirects during a slot migration; the client's topology keeps
//! the announced addresses.

mod admin;
mod support;
mod workload;

use std::time::{Duration, Instant};

use slotwise::{Addr, Client, Event, Options};
use support::Deployment;
use workload::{eventually, verify_acked, Workload};

fn announced(d: &Deployment, i: usize) -> String {
    d.nodes[i].announced.clone().expect("an announced address")
}

/// Moves `tag`'s slot from its primary to the primary of `to_tag`, under the workload, and
/// waits until the client routes it there. Returns how long the client took after the move.
async fn move_slot(d: &Deployment, client: &Client, tag: &str, to_tag: &str) -> Duration {
    let (from, _) = admin::shard_of(d, client, tag);
    let (to, _) = admin::shard_of(d, client, to_tag);
    let slot = slotwise::slot::key_slot(tag.as_bytes());
    tokio::task::block_in_place(|| admin::migrate_slots(d, from, to, &[slot]));
    let moved = Instant::now();
    let target = announced(d, to);
    eventually(
        "the client routes the slot to its new owner",
        Duration::from_secs(10),
        || admin::primary_of(client, tag).as_deref() == Some(target.as_str()),
    )
    .await;
    moved.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_hostnames_remapped_through_failover_and_redirects() {
    let d = Deployment::cluster_with(3, 1, &["--announce-hostnames"]);
    let mut opts = Options::default().with_request_timeout(Duration::from_secs(10));
    for n in &d.nodes {
        let name = Addr::parse(n.announced.as_deref().unwrap()).unwrap();
        opts = opts.with_address_map(name, Addr::parse(&n.addr()).unwrap());
    }
    let seeds: Vec<String> = (0..d.nodes.len()).map(|i| announced(&d, i)).collect();
    let client = Client::cluster(&seeds, opts).await.expect("connect");
    let mut events = client.events();
    let load = Workload::start(&client, 4);
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 500
    })
    .await;

    // Graceful failover of the first shard.
    let tag = load.tags[0].clone();
    let (p, r) = admin::shard_of(&d, &client, &tag);
    let r = r.expect("a replica");
    let t0 = Instant::now();
    admin::node(&d, r).ok(&["CLUSTER", "FAILOVER"]);
    let new_primary = announced(&d, r);
    eventually(
        "the client routes to the new primary",
        Duration::from_secs(10),
        || admin::primary_of(&client, &tag).as_deref() == Some(new_primary.as_str()),
    )
    .await;
    let followed_failover = t0.elapsed();
    let old_primary = announced(&d, p);
    let failover_event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Ok(Event::Failover {
                    old_primary: o,
                    new_primary: n,
                }) if o.to_string() == old_primary && n.to_string() == new_primary => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await;
    assert!(
        failover_event.is_ok(),
        "a Failover event names the announced old and new primary"
    );

    // A slot migration: ASK while keys move, MOVED after (once the failover has settled
    // on every node).
    tokio::task::block_in_place(|| d.wait_ok(30));
    let followed_move = move_slot(&d, &client, &load.tags[1], &load.tags[2]).await;
    let ops = load.ops();
    eventually("the workload goes on", Duration::from_secs(10), || {
        load.ops() > ops + 1000
    })
    .await;
    let report = load.stop().await;
    report.assert_clean();
    let lost = verify_acked(&client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    let topo = client.topology();
    assert!(
        topo.nodes()
            .all(|n| n.addr.host.ends_with(".slotwise.invalid")),
        "the topology keeps the announced names: {topo:?}"
    );
    let m = client.metrics();
    assert!(
        m.moved_redirects + m.ask_redirects > 0,
        "redirects were followed"
    );
    println!(
        "MEASURE NAT hostnames: ops={} failed=0 failover_followed_in={followed_failover:?} \
         slot_move_followed_in={followed_move:?} moved={} ask={} worst_gap_any_shard={:?}",
        report.ops,
        m.moved_redirects,
        m.ask_redirects,
        report.worst_gap()
    );
}

/// Nodes announce their port + 20000, where nothing listens (a port-forwarding NAT). Redis 7.0
/// replicas connect to their primary's announced port too, so a deployment with replicas
/// never gets healthy this way: no replicas, no failover here (the hostname test covers it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_ports_remapped_through_redirects() {
    const OFFSET: u16 = 20000;
    let d = Deployment::cluster_with(3, 0, &["--announce-port-offset", "20000"]);
    let opts = Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_address_remap(|a| {
            (a.port > OFFSET).then(|| Addr::new(a.host.clone(), a.port - OFFSET))
        });
    let seeds: Vec<String> = (0..d.nodes.len()).map(|i| announced(&d, i)).collect();
    assert!(seeds.iter().zip(&d.nodes).all(|(s, n)| *s != n.addr()));
    let client = Client::cluster(&seeds, opts).await.expect("connect");
    let load = Workload::start(&client, 4);
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 500
    })
    .await;
    let followed_move = move_slot(&d, &client, &load.tags[0], &load.tags[1]).await;
    let ops = load.ops();
    eventually("the workload goes on", Duration::from_secs(10), || {
        load.ops() > ops + 1000
    })
    .await;
    let report = load.stop().await;
    report.assert_clean();
    let lost = verify_acked(&client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    let announced_addrs: Vec<String> = (0..d.nodes.len()).map(|i| announced(&d, i)).collect();
    let topo = client.topology();
    assert!(
        topo.nodes()
            .all(|n| announced_addrs.contains(&n.addr.to_string())),
        "the topology keeps the announced addresses: {topo:?}"
    );
    let m = client.metrics();
    assert!(
        m.moved_redirects + m.ask_redirects > 0,
        "redirects were followed"
    );
    println!(
        "MEASURE NAT ports: ops={} failed=0 slot_move_followed_in={followed_move:?} moved={} \
         ask={} worst_gap_any_shard={:?}",
        report.ops,
        m.moved_redirects,
        m.ask_redirects,
        report.worst_gap()
    );
}
