//! Pub/Sub through topology changes (issue 10): graceful failover, primary kill, scale-in of
//! the node holding a sharded channel's slot, Sentinel failover. Messages are published every
//! 10 ms all along; every subscription is restored without the application doing anything,
//! no message arrives twice, every message published after the recovery arrives exactly
//! once, and each interruption is reported by one `Resubscribed` item. MEASURE lines give the
//! time from the event until messages flow again.

mod admin;
mod pubsub_traffic;
mod support;

use std::time::{Duration, Instant};

use pubsub_traffic::{Outcome, Traffic};
use slotwise::pubsub::Kind;
use slotwise::{Client, Options, PubSub};
use support::Deployment;
use workload::eventually;

mod workload;

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_secs(10))
}

/// The node whose connection carries our channel and pattern subscriptions (`CLIENT LIST`).
fn classic_node(d: &Deployment, live: &[usize]) -> Option<usize> {
    live.iter().copied().find(|&i| {
        admin::node(d, i)
            .call(&["CLIENT", "LIST", "TYPE", "pubsub"])
            .text()
            .lines()
            .any(|l| l.contains(" sub=1 ") && l.contains(" psub=1 "))
    })
}

/// A sharded channel whose slot the node at `addr` serves.
fn channel_on(client: &Client, addr: &str) -> String {
    (0..10_000)
        .map(|i| format!("orders:{i}"))
        .find(|c| {
            let slot = slotwise::slot::key_slot(c.as_bytes());
            client
                .topology()
                .shard_for_slot(slot)
                .is_some_and(|s| s.primary.addr.to_string() == addr)
        })
        .expect("a channel on that node")
}

/// A pub/sub whose classic connection is open (warm-up subscriptions), the primary it sits
/// on, and a shard channel that primary serves.
async fn on_the_classic_node(d: &Deployment, client: &Client) -> (PubSub, usize, String) {
    let ps = client.pubsub().expect("pubsub");
    ps.subscribe(Kind::Channel, ["warmup"])
        .await
        .expect("subscribe");
    ps.subscribe(Kind::Pattern, ["warm*"])
        .await
        .expect("psubscribe");
    let primaries: Vec<usize> = d.primaries().iter().map(|n| n.index).collect();
    let p = classic_node(d, &primaries).expect("the classic connection is on a primary");
    let channel = channel_on(client, &d.nodes[p].addr());
    (ps, p, channel)
}

/// Waits until messages of every kind published after `t` arrive.
async fn until_flowing(traffic: &Traffic, t: Instant, timeout: Duration) {
    eventually("messages of every kind flow again", timeout, || {
        [Kind::Channel, Kind::Pattern, Kind::Sharded]
            .iter()
            .all(|k| traffic.flowing_since(*k, t))
    })
    .await;
}

/// Publishes for another 1.5 s, stops, and checks the outcome; prints the MEASURE line.
/// `relay_excused`: see [`Outcome::assert_exactly_once_after_recovery`].
async fn finish(
    name: &str,
    traffic: Traffic,
    t0: Instant,
    started: Instant,
    relay_excused: Option<(Instant, Instant)>,
) -> Outcome {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = traffic.stop().await;
    eprintln!("{name} timeline: {:#?}", out.timeline(t0));
    if let Some((from, to)) = relay_excused {
        eprintln!(
            "{name}: relays excused from {:?} to {:?} after the start (the event at {:?})",
            from - started,
            to - started,
            t0 - started
        );
    }
    out.assert_no_duplicates();
    let mut checked = Vec::new();
    let mut line = format!("MEASURE pubsub {name}:");
    for kind in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
        // Not interrupted: every acknowledged message since the start arrived exactly once.
        let since = if out.resubscribed(kind).is_empty() {
            started
        } else {
            t0
        };
        checked.push(out.assert_exactly_once_after_recovery(kind, since, relay_excused));
        // restored: the Resubscribed item arrived (None: never interrupted); flowing: the
        // first message published after that (or after the event) arrived; missed:
        // acknowledged publishes never received (sent while the subscription was away).
        line += &format!(
            " {kind:?} restored={:?} flowing={:?} missed={};",
            out.restored_after(kind, t0),
            out.flowing_again_after(kind, t0)
                .expect("messages after the event"),
            out.missed(kind),
        );
    }
    println!(
        "{line} longest_interrupted_for={:?} checked_after_recovery={checked:?} published={}",
        out.longest_interruption(),
        out.published.len()
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_graceful_failover() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    // The classic connection first, then a sharded channel on the same primary.
    let (ps, p, channel) = on_the_classic_node(&d, &client).await;
    let r = d
        .nodes
        .iter()
        .find(|n| n.primary_index == Some(p))
        .expect("replica")
        .index;
    let started = Instant::now();
    let traffic = Traffic::start(&client, ps, &channel).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let t0 = Instant::now();
    d.graceful_failover(r);
    let slot = slotwise::slot::key_slot(channel.as_bytes());
    let follows = || {
        client
            .topology()
            .shard_for_slot(slot)
            .is_some_and(|s| s.primary.addr.to_string() == d.nodes[r].addr())
    };
    while !follows() {
        if t0.elapsed() > Duration::from_secs(15) {
            let nodes_view = tokio::task::block_in_place(|| {
                admin::node(&d, r).call(&["CLUSTER", "NODES"]).text()
            });
            panic!(
                "the client did not follow the failover to node {r} ({}) in 15 s\n\
                 client's shard: {:?}\nmetrics: {:#?}\nnode {r}'s CLUSTER NODES:\n{nodes_view}",
                d.nodes[r].addr(),
                client.topology().shard_for_slot(slot),
                client.metrics()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until_flowing(&traffic, t0, Duration::from_secs(15)).await;
    finish("graceful failover", traffic, t0, started, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_primary_kill() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    // Kill the node holding every subscription: all three kinds are interrupted.
    let (ps, p, channel) = on_the_classic_node(&d, &client).await;
    let started = Instant::now();
    let traffic = Traffic::start(&client, ps, &channel).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let t0 = Instant::now();
    // kill(1) directly: the harness takes most of a second to start, so its call cannot
    // say when the node died.
    let status = std::process::Command::new("kill")
        .args(["-9", &d.nodes[p].pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    until_flowing(&traffic, t0, Duration::from_secs(20)).await;
    let out = finish("primary kill", traffic, t0, started, None).await;
    for kind in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
        assert_eq!(
            out.resubscribed(kind).len(),
            1,
            "{kind:?}: one Resubscribed for the interruption"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_subscription_survives_scale_in_of_its_node() {
    let mut d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    // Scale-out: a new primary takes the slot of our sharded channel.
    let channel = "orders:scale".to_string();
    let slot = slotwise::slot::key_slot(channel.as_bytes());
    let src = admin::index_of(
        &d,
        &client.topology().shard_for_slot(slot).unwrap().primary.addr,
    );
    let new = d.add_node(None).index;
    tokio::task::block_in_place(|| d.wait_ok(30));
    tokio::task::block_in_place(|| admin::migrate_slots(&d, src, new, &[slot]));
    client.refresh_topology().await.expect("refresh");
    assert_eq!(
        client
            .topology()
            .shard_for_slot(slot)
            .unwrap()
            .primary
            .addr
            .to_string(),
        d.nodes[new].addr()
    );
    let ps = client.pubsub().expect("pubsub");
    let started = Instant::now();
    let traffic = Traffic::start(&client, ps, &channel).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Scale-in: the slot moves back, every node forgets the new one, its process stops.
    let t0 = Instant::now();
    tokio::task::block_in_place(|| admin::migrate_slots(&d, new, src, &[slot]));
    let others: Vec<usize> = (0..d.nodes.len()).filter(|&i| i != new).collect();
    let forgetting = Instant::now();
    tokio::task::block_in_place(|| {
        admin::forget(&d, new, &others);
        d.signal(new, "KILL");
    });
    let dead = Instant::now();
    until_flowing(&traffic, t0, Duration::from_secs(20)).await;
    // Until the client's next SPUBLISH meets MOVED, its view still gives the slot (so a
    // share of the classic PUBLISHes) to the leaving node.
    let out = finish("scale-in", traffic, t0, started, Some((forgetting, dead))).await;
    assert_eq!(out.resubscribed(Kind::Sharded).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_sentinel_failover() {
    let d = Deployment::sentinel(1, 3);
    let service = d.service.clone().expect("service");
    let client = Client::sentinel(
        &d.seeds,
        &service,
        opts().with_request_timeout(Duration::from_secs(15)),
    )
    .await
    .expect("connect");
    let old = client.topology().primaries().next().unwrap().addr.clone();
    let ps = client.pubsub().expect("pubsub");
    let started = Instant::now();
    let traffic = Traffic::start(&client, ps, "orders:sentinel").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sentinel = d.nodes.iter().find(|n| n.role == "sentinel").unwrap().index;
    let t0 = Instant::now();
    tokio::task::block_in_place(|| d.cli(sentinel, &["SENTINEL", "FAILOVER", &service]));
    eventually(
        "the client follows the switch",
        Duration::from_secs(30),
        || {
            client
                .topology()
                .primaries()
                .next()
                .is_some_and(|n| n.addr != old)
        },
    )
    .await;
    until_flowing(&traffic, t0, Duration::from_secs(20)).await;
    let out = finish("sentinel failover", traffic, t0, started, None).await;
    for kind in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
        assert_eq!(
            out.resubscribed(kind).len(),
            1,
            "{kind:?}: moved to the new master once"
        );
    }
}
