//! `health_check` right after a slot migration the client has not seen yet: the primaries are
//! fine, only the client's picture is stale. The write probe must follow the redirect rather
//! than report a healthy cluster as unhealthy until the next periodic refresh (found by the
//! chaos soak, `soak.rs`, as an intermittent failure after a slot move).

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
