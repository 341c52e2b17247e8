//! Scenario 5 of the resilience issue (field report 3: after scale-in the client keeps trying
//! removed nodes): a primary is added and slots carrying load move to it (scale-out), then
//! they move off it again, every other node forgets it and its process is stopped
//! (scale-in), all under load. No operation fails, and once the next refresh has run the
//! client makes no connection attempt to the removed address (requests, refreshes or probes).

mod admin;
mod support;
mod workload;

use std::time::{Duration, Instant};

use slotwise::{Addr, Client, Options};
use support::Deployment;
use workload::{eventually, verify_acked, Workload};

/// Slots moved: the one the first shard's workload keys live in, and its neighbours.
const MOVED: u16 = 16;

fn attempts(client: &Client, a: &Addr) -> (u64, u64) {
    let m = client.metrics();
    (
        m.connects.get(a).copied().unwrap_or(0),
        m.probes.get(a).copied().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_and_in_under_load_fails_nothing_and_drops_the_removed_node() {
    let mut d = Deployment::cluster(3, 1);
    let opts = Options::default().with_request_timeout(Duration::from_secs(10));
    // The startup nodes are the original ones: the added node is learned from the cluster.
    let client = Client::cluster(&d.seeds, opts).await.expect("connect");
    let load = Workload::start(&client, 4);
    let tag = load.tags[0].clone();
    let slot = slotwise::slot::key_slot(tag.as_bytes());
    let (src, _) = admin::shard_of(&d, &client, &tag);
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 500
    })
    .await;

    // Scale-out.
    let t_out = Instant::now();
    let new = d.add_node(None).index;
    let new_addr = Addr::parse(&d.nodes[new].addr()).unwrap();
    // Every node knows every other and the new node sees the cluster ok (it answers
    // CLUSTERDOWN to MIGRATE until then).
    tokio::task::block_in_place(|| d.wait_ok(30));
    let owned = admin::slots_of(&d, src);
    let at = owned
        .iter()
        .position(|s| *s == slot)
        .expect("src owns the slot");
    let first = at.min(owned.len() - MOVED as usize);
    let slots: Vec<u16> = owned[first..first + MOVED as usize].to_vec();
    tokio::task::block_in_place(|| admin::migrate_slots(&d, src, new, &slots));
    let out_done = Instant::now();
    eventually(
        "the client routes the moved slots to the new node",
        Duration::from_secs(10),
        || admin::primary_of(&client, &tag) == Some(new_addr.to_string()),
    )
    .await;
    let out_followed = out_done.elapsed();
    eventually(
        "the new node serves the shard",
        Duration::from_secs(10),
        || load.tag_served_since(&tag, Instant::now() - Duration::from_millis(1)),
    )
    .await;
    assert!(
        admin::cmdstat_calls(&d, new, "set") > 0,
        "the new node served writes"
    );
    let out_total = t_out.elapsed();

    // Scale-in: move everything off the new node, forget it everywhere, stop it.
    let t_in = Instant::now();
    let back = admin::slots_of(&d, new);
    assert_eq!(back, slots);
    tokio::task::block_in_place(|| admin::migrate_slots(&d, new, src, &back));
    let in_moved = Instant::now();
    eventually(
        "the client routes the slots back",
        Duration::from_secs(10),
        || admin::primary_of(&client, &tag) == Some(d.nodes[src].addr()),
    )
    .await;
    let in_followed = in_moved.elapsed();
    let others: Vec<usize> = (0..d.nodes.len()).filter(|&i| i != new).collect();
    admin::forget(&d, new, &others);
    d.signal(new, "KILL");
    let t_gone = Instant::now();
    client.refresh_topology().await.expect("refresh");
    assert!(
        !client.topology().nodes().any(|n| n.addr == new_addr),
        "the removed node left the topology: {:?}",
        client.topology()
    );
    let before = attempts(&client, &new_addr);
    // Long enough for several probe rounds (200 ms), more refreshes and plenty of requests.
    let ops = load.ops();
    let t0 = Instant::now();
    for _ in 0..3 {
        client.refresh_topology().await.expect("refresh");
    }
    eventually(
        "the workload goes on without the removed node",
        Duration::from_secs(10),
        || load.ops() > ops + 1000 && t0.elapsed() > Duration::from_secs(1),
    )
    .await;
    let after = attempts(&client, &new_addr);
    let report = load.stop().await;

    assert_eq!(
        after, before,
        "(connects, probes) to the removed node {new_addr} after the refresh"
    );
    report.assert_clean();
    let lost = verify_acked(&client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    let m = client.metrics();
    println!(
        "MEASURE scaling: ops={} failed=0 slots_moved={} scale_out_total={:?} \
         client_followed_scale_out={:?} client_followed_scale_in={:?} scale_in_total={:?} \
         worst_gap_any_shard={:?} moved={} ask={} attempts_to_removed_after_refresh=0 \
         (connects={} probes={} before the removal's refresh) refresh_after_kill={:?}",
        report.ops,
        slots.len(),
        out_total,
        out_followed,
        in_followed,
        t_gone.duration_since(t_in),
        report.worst_gap(),
        m.moved_redirects,
        m.ask_redirects,
        before.0,
        before.1,
        t0.duration_since(t_gone),
    );
}
