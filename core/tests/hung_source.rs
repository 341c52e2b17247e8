//! Scenario 9 of the resilience issue: a node that hangs (SIGSTOP) is one of the sources
//! every topology refresh asks, yet it does not delay the client's recovery from a primary
//! killed in another shard: each topology query has its own timeout, and a refresh must not
//! wait for a source that does not answer when the others already did.

mod admin;
mod support;
mod workload;

use std::time::{Duration, Instant};

use slotwise::{Client, Options};
use support::Deployment;
use workload::{eventually, verify_acked, Workload};

const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_topology_source_does_not_delay_recovery_from_a_failover_elsewhere() {
    let d = Deployment::cluster(3, 1);
    let opts = Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_topology_query_timeout(QUERY_TIMEOUT);
    // Every node is a startup node, so the hung one is asked by every refresh.
    let client = Client::cluster(&d.seeds, opts).await.expect("connect");
    let per_shard = 4;
    let load = Workload::start(&client, per_shard);
    let tag = load.tags[0].clone();
    let (p, r) = admin::shard_of(&d, &client, &tag);
    let r = r.expect("the shard has a replica");
    // The hung node: a replica of another shard, involved in nothing else.
    let (_, hung) = admin::shard_of(&d, &client, &load.tags[1]);
    let hung = hung.expect("the other shard has a replica");
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 500
    })
    .await;

    d.signal(hung, "STOP");
    let t_kill = Instant::now();
    d.signal(p, "KILL");
    let promoted = admin::wait_promoted(&d, r, Duration::from_secs(15)).await;
    eventually(
        "the client serves the shard again",
        Duration::from_secs(10),
        || load.tag_served_since(&tag, promoted),
    )
    .await;
    let served = promoted.elapsed();
    let all = load
        .wait_all_served(promoted, Duration::from_secs(10))
        .await;
    let report = load.stop().await;
    d.signal(hung, "CONT");

    for (_, what, e) in &report.failures {
        assert!(
            what.starts_with("SET") && e.may_have_run(),
            "only writes in flight to the killed primary may fail: {what}: {e:?}"
        );
    }
    assert!(
        report.failures.len() <= per_shard,
        "more failures than requests in flight: {:#?}",
        report.failures
    );
    report.assert_no_wrong_answers();
    let lost = verify_acked(&client, &report).await;
    println!(
        "MEASURE hung source: ops={} failed={} promoted_after_kill={:?} \
         shard_served_after_promotion={:?} all_shards_served_after_promotion={:?} \
         topology_queries={} query_timeout={:?} acked_lost_by_async_replication={}",
        report.ops,
        report.failures.len(),
        promoted.duration_since(t_kill),
        served,
        all,
        client.metrics().topology_queries,
        QUERY_TIMEOUT,
        lost.len()
    );
    // A refresh that waited for the hung source would alone take one query timeout, and the
    // first refresh to see the promotion may start only after one in progress ends: waiting
    // costs 1-2 query timeouts. Not waiting, the client follows within a few refresh gaps.
    assert!(
        served < QUERY_TIMEOUT,
        "the shard was served {served:?} after the promotion: the refresh waited for the hung \
         source (query timeout {QUERY_TIMEOUT:?})"
    );
}
