//! `make demo`: a real 3x1 Redis Cluster on loopback, a live workload through slotwise, a real
//! graceful failover in the middle, and the client carrying on. Everything stops on exit
//! (including Ctrl-C). `DEMO_SECONDS` sets the length (default 20).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::{cmd, Client, Event, Options};

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("DEMO_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("slotwise demo: starting a 3-primary, 3-replica Redis Cluster on 127.0.0.x ...");
    let mut cluster = support::Deployment::cluster(3, 1);
    for n in &cluster.nodes {
        println!("  node {} {} ({})", n.index, n.addr(), n.role);
    }
    let client = Client::cluster(
        &cluster.seeds,
        Options::default().with_request_timeout(Duration::from_secs(5)),
    )
    .await
    .expect("connect to the demo cluster");

    // What the client itself saw, as it happened.
    let mut events = client.events();
    tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            let line = match e {
                Event::Failover {
                    old_primary,
                    new_primary,
                } => format!("failover seen: {old_primary} -> {new_primary}"),
                Event::TopologyChanged { version, diff } => format!(
                    "topology v{version}: {} slots moved, {} nodes added, {} removed",
                    diff.slots_moved,
                    diff.nodes_added.len(),
                    diff.nodes_removed.len()
                ),
                Event::NodeFailed { addr, reason, .. } => {
                    format!("node {addr} marked failed ({reason})")
                }
                Event::NodeRecovered { addr } => format!("node {addr} answers again"),
                other => format!("{other:?}"),
            };
            println!("\n  << client: {line}");
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for t in 0..50u64 {
        let (client, stop, ok, failed) = (client.clone(), stop.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("demo:{}", (t * 7919 + i) % 10_000);
                let r = if i % 5 == 0 {
                    client.execute(cmd("SET").arg(&key).arg(i)).await
                } else {
                    client.execute(cmd("GET").arg(&key)).await
                };
                match r {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("\n  error: {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                i += 1;
            }
        }));
    }

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let started = Instant::now();
    let failover_at = secs / 3;
    let mut last = 0;
    let mut failover_done = false;
    for sec in 1..=secs {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = &mut ctrl_c => { println!("\ninterrupted"); break; }
        }
        let now = ok.load(Ordering::Relaxed);
        print!(
            "\r  t={sec:>3}s  ops/s={:>8}  errors={:<4}  topology v{}   ",
            now - last,
            failed.load(Ordering::Relaxed),
            client.topology_version()
        );
        std::io::stdout().flush().ok();
        last = now;
        if sec == failover_at && !failover_done {
            failover_done = true;
            let replica = cluster
                .nodes
                .iter()
                .find(|n| n.role == "replica")
                .map(|n| n.index);
            if let Some(r) = replica {
                println!(
                    "\n  >> graceful failover: CLUSTER FAILOVER on replica {}",
                    cluster.nodes[r].addr()
                );
                cluster.cli(r, &["CLUSTER", "FAILOVER"]);
                cluster.refresh_roles();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let total = ok.load(Ordering::Relaxed);
    let errors = failed.load(Ordering::Relaxed);
    let probe = client
        .execute(cmd("DBSIZE"))
        .await
        .map(|v| v.as_int())
        .ok()
        .flatten();
    println!(
        "\n\nsummary: {total} operations in {:.1}s ({:.0} ops/s), {errors} failed, keys in cluster: {}",
        started.elapsed().as_secs_f64(),
        total as f64 / started.elapsed().as_secs_f64(),
        probe.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
    );
    client.close();
    drop(cluster);
    println!("cluster stopped.");
}
