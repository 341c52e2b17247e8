//! Throughput of the core on a 3x1 loopback cluster next to `redis-benchmark --cluster` on the
//! same cluster in the same run. Not a test: no number here gates anything.
//!
//! `cargo run --release -p slotwise --example throughput [-- SECONDS CONCURRENCY]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::{cmd, Client, Options};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let d = support::Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, Options::default())
        .await
        .expect("connect");
    let value = "x".repeat(100);
    for i in 0..10_000 {
        client
            .execute(cmd("SET").arg(format!("key:{i}")).arg(&value))
            .await
            .expect("preload");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..conc {
        let (client, stop, ops, errors, value) = (
            client.clone(),
            stop.clone(),
            ops.clone(),
            errors.clone(),
            value.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("key:{}", (i * 7919) % 10_000);
                // GET/SET 50/50, like `redis-benchmark -t get,set`.
                let r = if i % 2 == 0 {
                    client.execute(cmd("SET").arg(&key).arg(&value)).await
                } else {
                    client.execute(cmd("GET").arg(&key)).await
                };
                match r {
                    Ok(_) => ops.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
                i += 1;
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let ours = ops.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!(
        "slotwise: {conc} concurrent, GET/SET 50/50, 100 B values: {ours:.0} ops/s ({} errors)",
        errors.load(Ordering::Relaxed)
    );

    let seed = &d.nodes[0];
    let n = ((ours * secs as f64) as u64).max(100_000).to_string();
    let out = std::process::Command::new("redis-benchmark")
        .args([
            "--cluster",
            "-h",
            &seed.host,
            "-p",
            &seed.port.to_string(),
            "-t",
            "get,set",
            "-c",
            &conc.to_string(),
            "-n",
            &n,
            "-d",
            "100",
            "-r",
            "10000",
            "-q",
        ])
        .output()
        .expect("redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rates = Vec::new();
    for line in text
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
    {
        if let Some(r) = line
            .split(':')
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|r| r.parse::<f64>().ok())
        {
            println!("redis-benchmark {}", line.trim());
            rates.push(r);
        }
    }
    if rates.len() == 2 {
        // Mean time per op over SET and GET, as a 50/50 mix.
        let mix = 2.0 / (1.0 / rates[0] + 1.0 / rates[1]);
        println!("redis-benchmark GET/SET 50/50 equivalent: {mix:.0} ops/s");
        println!("ratio slotwise / redis-benchmark: {:.2}", ours / mix);
    } else {
        println!("could not read redis-benchmark output:\n{text}");
    }
}
