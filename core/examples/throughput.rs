//! The Rust core's driver for `make bench` (bench/run.py): C tasks run GET/SET 80/20 on KEYS
//! preloaded keys for S seconds against a running cluster and one JSON line is printed with
//! ops/s, errors and p50/p99 latency. Peak RSS is read by the caller (wait4), per process.
//! Not a test: no number here gates anything.
//!
//! `cargo run --release -p slotwise --example throughput -- --seeds H:P[,H:P] \
//!     [--seconds S] [--concurrency C] [--size BYTES] [--preload]`

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::{cmd, Client, Options};

const KEYS: u64 = 10_000;

fn opt(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match opt(args, name) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("{name} wants a number, got {s:?}");
            std::process::exit(2)
        }),
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(seeds) = opt(&args, "--seeds") else {
        eprintln!("usage: throughput --seeds H:P[,H:P] [--seconds S] [--concurrency C] [--size B] [--preload]");
        std::process::exit(2)
    };
    let seeds: Vec<String> = seeds.split(',').map(str::to_owned).collect();
    let secs: f64 = num(&args, "--seconds", 3.0);
    let conc: u64 = num(&args, "--concurrency", 50u64).max(1);
    let size: usize = num(&args, "--size", 100);
    let client = Client::cluster(&seeds, Options::default())
        .await
        .unwrap_or_else(|e| {
            eprintln!("connect: {e}");
            std::process::exit(1)
        });
    let prefix = format!("bench:{size}:");
    let value = bytes::Bytes::from(vec![b'x'; size]);
    if args.iter().any(|a| a == "--preload") {
        for i in 0..KEYS {
            client
                .execute(cmd("SET").arg(format!("{prefix}{i}")).arg(value.clone()))
                .await
                .expect("preload");
        }
        println!("{{\"preloaded\": {KEYS}}}");
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..conc {
        let (client, stop, value, prefix) =
            (client.clone(), stop.clone(), value.clone(), prefix.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::with_capacity(1 << 16), 0u64);
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("{prefix}{}", (i * 7919) % KEYS);
                let began = Instant::now();
                // GET/SET 80/20.
                let r = if i % 5 == 0 {
                    client
                        .execute(cmd("SET").arg(&key).arg(value.clone()))
                        .await
                } else {
                    client.execute(cmd("GET").arg(&key)).await
                };
                match r {
                    Ok(_) => lat.push(began.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(_) => errors += 1,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs.max(0.1))).await;
    stop.store(true, Ordering::Relaxed);
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "{{\"ops\": {}, \"errors\": {errors}, \"seconds\": {elapsed:.3}, \"ops_per_sec\": {:.1}, \"p50_us\": {}, \"p99_us\": {}}}",
        lat.len(),
        lat.len() as f64 / elapsed,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    client.close();
}
