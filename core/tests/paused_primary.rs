//! Scenario 3 of the resilience issue: a primary is paused (SIGSTOP), the cluster fails over,
//! then the old primary wakes up (SIGCONT) still claiming its slots. Once the client knows the
//! new topology, the old primary serves nothing for it as a primary: no acknowledged write is
//! lost, and the only writes it runs on waking are the ones queued in its socket while it was
//! paused, which the client reported as "may have run" and never as acknowledged.
//!
//! The old primary's own counters tell what it ran. `INFO commandstats` cannot: a replica
//! counts the writes its primary replicates to it in `cmdstat_set` too. So the test names the
//! client's connections and reads the old primary's slowlog (every command logged), which
//! records each command with its arguments and the name of the connection that sent it.

mod admin;
mod support;
mod workload;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use slotwise::{Client, Options};
use support::Deployment;
use workload::{eventually, verify_acked, Workload};

const NAME: &str = "scenario-paused-primary";

fn opts() -> Options {
    Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_client_name(NAME)
        // A paused node sends no error for the client to react to: the periodic refresh is
        // what tells it about the failover (shortened from 30 s so the test stays short).
        .with_refresh_interval(Duration::from_secs(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_primary_that_wakes_up_serves_nothing_as_primary() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let per_shard = 4;
    let load = Workload::start(&client, per_shard);
    let tag = load.tags[0].clone();
    let (p, r) = admin::shard_of(&d, &client, &tag);
    let r = r.expect("the shard has a replica");
    let new_primary = d.nodes[r].addr();
    eventually("the workload runs", Duration::from_secs(10), || {
        load.ops() > 500
    })
    .await;

    admin::slowlog_everything(&d, p);
    let t_stop = Instant::now();
    d.signal(p, "STOP");
    let promoted = admin::wait_promoted(&d, r, Duration::from_secs(15)).await;
    eventually(
        "the client knows the new primary",
        Duration::from_secs(10),
        || admin::primary_of(&client, &tag).as_deref() == Some(new_primary.as_str()),
    )
    .await;
    let known = Instant::now();
    // Every worker of that shard was blocked on a request to the paused node; one of them
    // succeeding again means the client gave up that connection.
    eventually(
        "the shard is served by the new primary",
        Duration::from_secs(10),
        || load.tag_served_since(&tag, known),
    )
    .await;
    let served = Instant::now();

    let t_cont = Instant::now();
    d.signal(p, "CONT");
    eventually(
        "the old primary turns replica",
        Duration::from_secs(10),
        || admin::role(&d, p).as_deref() == Some("slave"),
    )
    .await;
    let ran_on_waking = admin::slowlog_sets(&d, p, NAME);
    let ops = load.ops();
    eventually("the workload goes on", Duration::from_secs(10), || {
        load.ops() > ops + 2000
    })
    .await;
    let ran_later = admin::slowlog_sets(&d, p, NAME);
    let report = load.stop().await;

    // What the old primary ran for this client after it was paused, and what the client was
    // told about each of those writes.
    let acked_at: HashMap<(&str, u64), Instant> = report
        .acks
        .iter()
        .map(|(k, v, t)| ((k.as_str(), *v), *t))
        .collect();
    let unknown: HashSet<(&str, u64)> = report
        .unknown
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let mut queued_ran = 0;
    for (k, v) in &ran_on_waking {
        match acked_at.get(&(k.as_str(), *v)) {
            // Ran before the pause (the slowlog was reset just before it).
            Some(t) if *t < t_cont => {}
            Some(t) => panic!(
                "the woken old primary acknowledged SET {k} {v}, {:?} after SIGCONT",
                t.duration_since(t_cont)
            ),
            None => {
                assert!(
                    unknown.contains(&(k.as_str(), *v)),
                    "the old primary ran SET {k} {v}, which the client neither acknowledged \
                     nor reported as 'may have run'"
                );
                queued_ran += 1;
            }
        }
    }
    assert_eq!(
        ran_later.len(),
        ran_on_waking.len(),
        "the old primary ran writes from this client after it turned replica: {:?}",
        &ran_later[ran_on_waking.len().min(ran_later.len())..]
    );

    // Only the requests in flight to the paused node may fail (one per worker of its shard),
    // each a write saying it may have run.
    assert!(
        report.failures.len() <= per_shard,
        "more failures than requests in flight: {:#?}",
        report.failures
    );
    for (_, what, e) in &report.failures {
        assert!(what.starts_with("SET") && e.may_have_run(), "{what}: {e:?}");
    }
    report.assert_no_wrong_answers();
    let lost = verify_acked(&client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    println!(
        "MEASURE paused primary: ops={} failed={} promoted_after={:?} \
         client_knew_after_promotion={:?} shard_served_after_promotion={:?} \
         shard_gap={:?} queued_writes_run_on_waking_unacknowledged={} \
         writes_run_by_old_primary_after_demotion={}",
        report.ops,
        report.failures.len(),
        promoted.duration_since(t_stop),
        known.saturating_duration_since(promoted),
        served.saturating_duration_since(promoted),
        report.max_gap.get(&tag).copied().unwrap_or_default(),
        queued_ran,
        ran_later.len() - ran_on_waking.len(),
    );
}
