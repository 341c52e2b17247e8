//! Scenario 6 of the resilience issue (field report 5: pods restarted with new IPs): every
//! node is restarted on a new loopback IP, one at a time, while the client is idle, so every
//! address it knows is stale when the workload starts again. The client recovers without a
//! restart:
//! (a) from its startup name, which a `resolver` maps to the current addresses (a shared
//!     table the test updates as each node moves, like a DNS record);
//! (b) with only address remapping: nodes announce `node-I.slotwise.invalid` names, and the
//!     remap callback maps each name to the node's current IP (a table the test updates).

mod support;
mod workload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slotwise::{Addr, Client, Options};
use support::Deployment;
use workload::{eventually, verify_acked, Workload};

fn addrs(d: &Deployment) -> Vec<Addr> {
    d.nodes
        .iter()
        .map(|n| Addr::parse(&n.addr()).unwrap())
        .collect()
}

/// A short checked run proving the client works before the moves.
async fn works(client: &Client) {
    let load = Workload::start(client, 2);
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 300
    })
    .await;
    let report = load.stop().await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

/// Restarts every node on a new IP, one at a time, waiting for a healthy cluster in between;
/// `moved` is told after each move. Returns how long it took.
fn move_every_node(d: &mut Deployment, mut moved: impl FnMut(&Deployment)) -> Duration {
    let t0 = Instant::now();
    for i in 0..d.nodes.len() {
        let old = d.nodes[i].host.clone();
        let node = d.restart_node(i, Some("auto"));
        assert_ne!(node.host, old, "node {i} got a new IP");
        moved(d);
        d.wait_ok(30);
    }
    t0.elapsed()
}

/// Runs the workload on the client whose every known address is stale; checks and measures.
async fn recovers(client: &Client, d: &Deployment, what: &str, moves_took: Duration) {
    let t0 = Instant::now();
    let load = Workload::start(client, 4);
    let served = load.wait_all_served(t0, Duration::from_secs(15)).await;
    let ops = load.ops();
    eventually("the workload goes on", Duration::from_secs(10), || {
        load.ops() > ops + 1000
    })
    .await;
    let report = load.stop().await;
    report.assert_clean();
    let lost = verify_acked(client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    let m = client.metrics();
    println!(
        "MEASURE new IPs ({what}): nodes_moved={} moves_took={moves_took:?} ops={} failed=0 \
         all_shards_served_after_workload_start={served:?} worst_gap_any_shard={:?} \
         refreshes={:?} nodes_marked={}",
        d.nodes.len(),
        report.ops,
        report.worst_gap(),
        m.refreshes,
        m.nodes_marked,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_on_a_new_ip_the_client_recovers_through_its_resolver() {
    let mut d = Deployment::cluster(3, 1);
    let dns = Arc::new(Mutex::new(addrs(&d)));
    let record = dns.clone();
    let opts = Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_resolver(move |_name| Ok(record.lock().unwrap().clone()));
    let client = Client::cluster(["redis.slotwise.invalid:6379"], opts)
        .await
        .expect("connect");
    works(&client).await;
    let before = addrs(&d);

    let took = tokio::task::block_in_place(|| {
        move_every_node(&mut d, |d| *dns.lock().unwrap() = addrs(d))
    });
    let now = addrs(&d);
    assert!(
        now.iter().all(|a| !before.contains(a)),
        "every address changed"
    );
    assert!(
        client.topology().nodes().all(|n| before.contains(&n.addr)),
        "the idle client still knows only the old addresses"
    );

    recovers(&client, &d, "resolver", took).await;
    assert!(
        client.topology().nodes().all(|n| now.contains(&n.addr)),
        "the client knows the new addresses: {:?}",
        client.topology()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_on_a_new_ip_the_client_recovers_through_its_address_remap() {
    let mut d = Deployment::cluster_with(3, 1, &["--announce-hostnames"]);
    // Announced name -> current IP: what a stable service name resolves to.
    let current = |d: &Deployment| -> HashMap<String, String> {
        d.nodes
            .iter()
            .map(|n| {
                let name = n.announced.clone().expect("announced address");
                let host = Addr::parse(&name).unwrap().host;
                (host, n.host.clone())
            })
            .collect()
    };
    let table = Arc::new(Mutex::new(current(&d)));
    let lookup = table.clone();
    let opts = Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_address_remap(move |a| {
            let ip = lookup.lock().unwrap().get(&a.host).cloned()?;
            Some(Addr::new(ip, a.port))
        });
    let announced: Vec<String> = d.nodes.iter().filter_map(|n| n.announced.clone()).collect();
    let client = Client::cluster(&announced, opts).await.expect("connect");
    works(&client).await;
    let topology_before: Vec<Addr> = client.topology().nodes().map(|n| n.addr.clone()).collect();
    assert!(
        topology_before
            .iter()
            .all(|a| a.host.ends_with(".slotwise.invalid")),
        "the topology keeps the announced names: {topology_before:?}"
    );

    let took = tokio::task::block_in_place(|| {
        move_every_node(&mut d, |d| *table.lock().unwrap() = current(d))
    });

    recovers(&client, &d, "address remap", took).await;
    let mut after: Vec<Addr> = client.topology().nodes().map(|n| n.addr.clone()).collect();
    let mut before = topology_before;
    after.sort();
    before.sort();
    assert_eq!(after, before, "the announced names did not change");
}
