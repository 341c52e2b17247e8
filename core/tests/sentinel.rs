//! Field report 4: after a Sentinel failover the client must follow, never keep writing to the
//! demoted master, and never say "healthy" while its master is read-only. Real master,
//! replicas and sentinels from the harness.

mod support;
mod workload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slotwise::{Client, Event, Options};
use support::Deployment;
use workload::{verify_acked, Workload};

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_secs(15))
}

fn service(d: &Deployment) -> String {
    d.service
        .clone()
        .expect("sentinel deployment has a service")
}

fn data_nodes(d: &Deployment) -> Vec<usize> {
    d.nodes
        .iter()
        .filter(|n| n.role != "sentinel")
        .map(|n| n.index)
        .collect()
}

fn sentinels(d: &Deployment) -> Vec<usize> {
    d.nodes
        .iter()
        .filter(|n| n.role == "sentinel")
        .map(|n| n.index)
        .collect()
}

fn master_of(client: &Client) -> String {
    client
        .topology()
        .primaries()
        .next()
        .map(|n| n.addr.to_string())
        .unwrap_or_default()
}

/// When and where a replica was seen promoted.
type Promotion = Arc<Mutex<Option<(Instant, String)>>>;

/// Watches the data nodes' ROLE from a thread and records when `old` stops being the only
/// master, i.e. when a replica is promoted.
fn watch_promotion(
    d: &Deployment,
    old: &str,
) -> (Arc<AtomicBool>, Promotion, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Promotion = Arc::new(Mutex::new(None));
    let others: Vec<(String, u16)> = data_nodes(d)
        .into_iter()
        .map(|i| (d.nodes[i].host.clone(), d.nodes[i].port))
        .filter(|(h, p)| format!("{h}:{p}") != old)
        .collect();
    let (stop2, seen2) = (stop.clone(), seen.clone());
    let h = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) && seen2.lock().unwrap().is_none() {
            for (host, port) in &others {
                let out = std::process::Command::new("redis-cli")
                    .args(["-h", host, "-p", &port.to_string(), "ROLE"])
                    .output();
                if let Ok(o) = out {
                    if String::from_utf8_lossy(&o.stdout).starts_with("master") {
                        *seen2.lock().unwrap() = Some((Instant::now(), format!("{host}:{port}")));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (stop, seen, h)
}

async fn until_master_is_not(client: &Client, old: &str, within: Duration) -> Duration {
    workload::eventually("the client follows the new master", within, || {
        let m = master_of(client);
        !m.is_empty() && m != old
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_under_writes_loses_no_acknowledged_write() {
    let d = Deployment::sentinel(2, 3);
    let client = Client::sentinel(&d.seeds, &service(&d), opts())
        .await
        .expect("connect");
    let old = master_of(&client);
    let load = Workload::start(&client, 8);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stop, promoted, watcher) = watch_promotion(&d, &old);
    let t0 = Instant::now();
    d.cli(sentinels(&d)[0], &["SENTINEL", "FAILOVER", &service(&d)]);
    until_master_is_not(&client, &old, Duration::from_secs(20)).await;
    let followed = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let report = load.stop().await;
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    let promoted = promoted.lock().unwrap().clone();

    for (_, what, e) in &report.failures {
        assert!(
            e.may_have_run(),
            "only writes in flight at the switch may fail: {what}: {e:?}"
        );
    }
    report.assert_no_wrong_answers();
    // Every acknowledged write must be on the new master: none was acknowledged by the old
    // master after the promotion (those are lost when it resyncs).
    let lost = verify_acked(&client, &report).await;
    assert!(
        lost.is_empty(),
        "acknowledged writes lost: {} {lost:#?}",
        lost.len()
    );
    let (p_at, p_addr) = promoted.expect("a replica was promoted");
    assert_eq!(
        p_addr,
        master_of(&client),
        "the client uses the promoted replica"
    );
    println!(
        "MEASURE sentinel failover: ops={} failed_writes={} acked_lost=0 promotion_after={:?} \
         client_on_new_master_after_promotion={:?} longest_write_pause={:?}",
        report.ops,
        report.failures.len(),
        p_at - t0,
        followed.saturating_duration_since(p_at),
        report.worst_gap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_master_killed_the_client_follows_the_promotion() {
    let d = Deployment::sentinel(2, 3);
    let client = Client::sentinel(&d.seeds, &service(&d), opts())
        .await
        .expect("connect");
    let old = master_of(&client);
    let load = Workload::start(&client, 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let old_index = d
        .nodes
        .iter()
        .find(|n| n.addr() == old)
        .expect("old master")
        .index;
    let t0 = Instant::now();
    d.signal(old_index, "KILL");
    until_master_is_not(&client, &old, Duration::from_secs(30)).await;
    let followed = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = load.stop().await;
    for (_, what, e) in &report.failures {
        assert!(
            e.may_have_run(),
            "only writes in flight at the kill may fail: {what}: {e:?}"
        );
    }
    assert!(report.failures.len() <= 4, "{:#?}", report.failures);
    report.assert_no_wrong_answers();
    println!(
        "MEASURE sentinel master kill: ops={} failed={} client_followed_after={followed:?} longest_pause={:?}",
        report.ops,
        report.failures.len(),
        report.worst_gap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_switch_master_message_the_poll_and_readonly_still_move_the_client() {
    let d = Deployment::sentinel(2, 3);
    // The client never hears the sentinels' announcements, as when pub/sub to them is blocked
    // or the announcing sentinel dies with the master.
    let o = opts().with_sentinel_subscribe(false);
    let client = Client::sentinel(&d.seeds, &service(&d), o)
        .await
        .expect("connect");
    let old = master_of(&client);
    let load = Workload::start(&client, 8);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stop, promoted, watcher) = watch_promotion(&d, &old);
    let t0 = Instant::now();
    d.cli(sentinels(&d)[0], &["SENTINEL", "FAILOVER", &service(&d)]);
    until_master_is_not(&client, &old, Duration::from_secs(20)).await;
    let followed = Instant::now();
    // Keep writing until the old master has been turned into a replica.
    let old_index = d
        .nodes
        .iter()
        .find(|n| n.addr() == old)
        .expect("old master")
        .index;
    workload::eventually("the old master is demoted", Duration::from_secs(30), || {
        d.try_cli(old_index, &["ROLE"])
            .is_ok_and(|role| role.starts_with("slave"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = load.stop().await;
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    for (_, what, e) in &report.failures {
        assert!(e.may_have_run(), "{what}: {e:?}");
    }
    report.assert_no_wrong_answers();
    let lost = verify_acked(&client, &report).await;
    let (p_at, _) = promoted
        .lock()
        .unwrap()
        .clone()
        .expect("a replica was promoted");
    println!(
        "MEASURE sentinel lost message: ops={} failed_writes={} acked_lost={} promotion_after={:?} \
         client_on_new_master_after_promotion={:?}",
        report.ops,
        report.failures.len(),
        lost.len(),
        p_at - t0,
        followed.saturating_duration_since(p_at)
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_is_unhealthy_while_the_master_is_read_only() {
    let d = Deployment::sentinel(2, 3);
    // Nothing tells the client about the failover for a long while: no announcements, a slow
    // poll. Its health check must still see the truth.
    let o = opts()
        .with_sentinel_subscribe(false)
        .with_sentinel_poll_interval(Duration::from_secs(600));
    let client = Client::sentinel(&d.seeds, &service(&d), o)
        .await
        .expect("connect");
    let before = client.health_check().await.expect("health");
    assert!(before.healthy, "{before:?}");
    let old = master_of(&client);
    let old_index = d
        .nodes
        .iter()
        .find(|n| n.addr() == old)
        .expect("old master")
        .index;
    d.cli(sentinels(&d)[0], &["SENTINEL", "FAILOVER", &service(&d)]);
    workload::eventually("the old master is demoted", Duration::from_secs(30), || {
        d.try_cli(old_index, &["ROLE"])
            .is_ok_and(|role| role.starts_with("slave"))
    })
    .await;
    let during = client.health_check().await.expect("health");
    assert!(
        !during.healthy,
        "a read-only master must not pass: {during:?}"
    );
    let e = during.nodes[0].error.as_ref().expect("the probe failed");
    assert_eq!(e.kind(), slotwise::ErrorKind::ReadOnly, "{e:?}");
    // The failed probe made the client look again; it follows and is healthy.
    until_master_is_not(&client, &old, Duration::from_secs(10)).await;
    let after = client.health_check().await.expect("health");
    assert!(after.healthy, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_sentinels_down_then_back_the_client_serves_and_recovers_tracking() {
    let mut d = Deployment::sentinel(2, 3);
    let client = Client::sentinel(&d.seeds, &service(&d), opts())
        .await
        .expect("connect");
    let mut events = client.events();
    let s = sentinels(&d);
    // The watchers must be listening before the sentinels go: one that failed its first
    // connect (a loaded machine) reported its loss before `events()` was taken.
    workload::eventually(
        "the client listens on every sentinel",
        Duration::from_secs(20),
        || {
            s.iter().all(|&i| {
                d.try_cli(i, &["CLIENT", "LIST"])
                    .is_ok_and(|list| list.lines().any(|l| !l.contains(" sub=0 ")))
            })
        },
    )
    .await;
    for &i in &s {
        d.signal(i, "KILL");
    }
    // The known master keeps serving with every sentinel gone.
    for i in 0..50 {
        client
            .execute(slotwise::cmd("SET").arg(format!("k{i}")).arg(i))
            .await
            .expect("writes go on without sentinels");
    }
    let lost = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(Event::SentinelLost { .. }) = events.recv().await {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(lost, "a SentinelLost event");
    for &i in &s {
        d.restart_node(i, None);
    }
    let regained = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(Event::SentinelRegained { .. }) = events.recv().await {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(regained, "a SentinelRegained event");
    // Tracking works again: a failover is followed.
    let old = master_of(&client);
    workload::eventually(
        "sentinels agree on the master again",
        Duration::from_secs(20),
        || d.cli(s[0], &["SENTINEL", "FAILOVER", &service(&d)]) == "OK",
    )
    .await;
    until_master_is_not(&client, &old, Duration::from_secs(20)).await;
    client
        .execute(slotwise::cmd("SET").arg("after").arg("1"))
        .await
        .expect("write after failover");
}
