//! `health_check` right after a change the client has not seen yet: the cluster is fine, only
//! the client's picture is stale. The write probe must follow a redirect, and look at the
//! cluster again when a primary cannot be reached, rather than report a healthy cluster as
//! unhealthy until the next periodic refresh (both found by the chaos soak, `soak.rs`, as
//! intermittent failures: after a slot move, and after a primary was killed and replaced on a
//! shard the workload did not use).

mod admin;
mod support;

use std::time::Duration;

use slotwise::{Client, Options};
use support::Deployment;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_follows_a_slot_moved_behind_the_clients_back() {
    let d = Deployment::cluster(3, 0);
    let opts = Options::default().with_request_timeout(Duration::from_secs(5));
    let client = Client::cluster(&d.seeds, opts).await.expect("connect");
    assert!(client.health_check().await.expect("health").healthy);

    // Move the first slot of one primary (the one its write probe uses) to another, without
    // the client sending anything that would tell it.
    let (from, to) = (d.primaries()[1].index, d.primaries()[2].index);
    let first = admin::slots_of(&d, from)[0];
    tokio::task::block_in_place(|| admin::migrate_slots(&d, from, to, &[first]));

    let report = client.health_check().await.expect("health");
    assert!(
        report.healthy,
        "a healthy cluster reported unhealthy: {report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_looks_again_when_a_replaced_primary_cannot_be_reached() {
    let d = Deployment::cluster(3, 1);
    let opts = Options::default().with_request_timeout(Duration::from_secs(5));
    let client = Client::cluster(&d.seeds, opts).await.expect("connect");
    assert!(client.health_check().await.expect("health").healthy);

    // Kill a primary and wait until the cluster has promoted its replica, without the client
    // sending anything that would tell it.
    let p = d.primaries()[0].index;
    let r = d
        .nodes
        .iter()
        .find(|n| n.primary_index == Some(p))
        .expect("a replica")
        .index;
    d.signal(p, "KILL");
    tokio::task::block_in_place(|| {
        support::wait_until("the replica is promoted", Duration::from_secs(30), || {
            d.try_cli(r, &["ROLE"])
                .is_ok_and(|role| role.starts_with("master"))
        });
        support::wait_until("the cluster is ok", Duration::from_secs(30), || {
            d.try_cli(r, &["CLUSTER", "INFO"])
                .is_ok_and(|info| info.contains("cluster_state:ok"))
        });
    });

    let report = client.health_check().await.expect("health");
    assert!(
        report.healthy,
        "a healthy cluster reported unhealthy: {report:#?}"
    );
    assert!(
        report
            .nodes
            .iter()
            .any(|n| n.addr.to_string() == d.nodes[r].addr()),
        "the promoted replica was probed: {report:#?}"
    );
}
