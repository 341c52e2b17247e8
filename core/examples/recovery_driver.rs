//! The Rust core's side of `make bench-recovery` and `make demo` (bench/recovery.py,
//! bench/demo.py): the same paced workload and output as bench/python/recovery_driver.py —
//! unique SET then GET on 32 hash tags (every shard), READY once connected, a
//! `TICK unix_time ok errors topology_version` line every 250 ms for live displays, stop on a
//! line (or EOF) on stdin, read back every acknowledged write with the same client, one JSON
//! line out. Not a test.
//!
//! `recovery_driver --seeds H:P[,H:P] [--mode cluster|sentinel] [--service NAME] [--rate PAIRS_PER_S] [--label L]`

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use slotwise::{cmd, Client, Options};

const TAGS: u64 = 32;
/// Worker w always uses hash tag w: a stall on one shard holds up only its own loops.
const WORKERS: u64 = TAGS;

fn opt(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Default)]
struct Tally {
    buckets: HashMap<i64, (u64, u64)>,
    tag_buckets: HashMap<(u64, i64), (u64, u64)>,
    failed: u64,
    errors: HashMap<String, u64>,
    first_error: Option<String>,
    first_err_t: Option<f64>,
    last_err_t: Option<f64>,
    last_err: HashMap<u64, f64>,
    ok_after: HashMap<u64, Option<f64>>,
    acked: Vec<(String, String)>,
}

impl Tally {
    fn ok(&mut self, tag: u64) {
        let t = now();
        self.buckets.entry((t * 10.0) as i64).or_default().0 += 1;
        self.tag_buckets
            .entry((tag, (t * 10.0) as i64))
            .or_default()
            .0 += 1;
        if self.last_err.contains_key(&tag) {
            self.ok_after.entry(tag).or_default().get_or_insert(t);
        }
    }

    fn err(&mut self, tag: u64, e: &slotwise::Error) {
        let t = now();
        self.buckets.entry((t * 10.0) as i64).or_default().1 += 1;
        self.tag_buckets
            .entry((tag, (t * 10.0) as i64))
            .or_default()
            .1 += 1;
        self.failed += 1;
        *self.errors.entry(format!("{:?}", e.kind())).or_default() += 1;
        self.first_error.get_or_insert_with(|| e.to_string());
        self.first_err_t.get_or_insert(t);
        self.last_err_t = Some(t);
        self.last_err.insert(tag, t);
        self.ok_after.insert(tag, None);
    }
}

fn is(v: &slotwise::Value, want: &str) -> bool {
    v.as_bytes() == Some(want.as_bytes())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(seeds) = opt(&args, "--seeds") else {
        eprintln!("usage: recovery_driver --seeds H:P[,H:P] [--mode cluster|sentinel] [--service NAME] [--rate N] [--label L]");
        std::process::exit(2)
    };
    let seeds: Vec<String> = seeds.split(',').map(str::to_owned).collect();
    let rate: f64 = opt(&args, "--rate")
        .and_then(|r| r.parse().ok())
        .unwrap_or(300.0);
    let label = opt(&args, "--label").unwrap_or_else(|| "slotwise-rust".into());
    let sentinel = opt(&args, "--mode").as_deref() == Some("sentinel");
    let service = opt(&args, "--service").unwrap_or_else(|| "mymaster".into());
    let opts = Options::default();
    let connected = if sentinel {
        Client::sentinel(&seeds, &service, opts).await
    } else {
        Client::cluster(&seeds, opts).await
    };
    let client = connected.unwrap_or_else(|e| {
        eprintln!("connect: {e}");
        std::process::exit(1)
    });
    client
        .execute(cmd("SET").arg(format!("rec:{label}:ready")).arg("1"))
        .await
        .unwrap_or_else(|e| {
            eprintln!("first write: {e}");
            std::process::exit(1)
        });

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok_n, err_n) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let interval = Duration::from_secs_f64(WORKERS as f64 / rate.max(1.0));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (client, tally, stop, label) =
            (client.clone(), tally.clone(), stop.clone(), label.clone());
        let (ok_n, err_n) = (ok_n.clone(), err_n.clone());
        workers.push(tokio::spawn(async move {
            let mut next = Instant::now();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let tag = w;
                let (key, value) = (
                    format!("rec:{label}:{{t{tag}}}:{w}:{n}"),
                    format!("{w}:{n}"),
                );
                n += 1;
                let set = client.execute(cmd("SET").arg(&key).arg(&value)).await;
                let outcome = match set {
                    Ok(_) => {
                        {
                            let mut t = tally.lock().unwrap();
                            t.acked.push((key.clone(), value.clone()));
                            t.ok(tag);
                        }
                        ok_n.fetch_add(1, Ordering::Relaxed);
                        client.execute(cmd("GET").arg(&key)).await
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(v) if is(&v, &value) => {
                        tally.lock().unwrap().ok(tag);
                        ok_n.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(v) => {
                        eprintln!("read-your-write: {key} gave {v:?}");
                        let e = slotwise::Error::invalid("read-your-write: wrong value");
                        tally.lock().unwrap().err(tag, &e);
                        err_n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tally.lock().unwrap().err(tag, &e);
                        err_n.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next += interval;
                let now = Instant::now();
                if next > now {
                    tokio::time::sleep(next - now).await;
                } else if now - next > Duration::from_secs(1) {
                    next = now; // after a stall, do not burst to catch up
                }
            }
        }));
    }
    println!("READY");
    std::io::stdout().flush().ok();

    // A line (or EOF) on stdin stops the workload.
    let stop_in = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::stdin().lock().read_line(&mut String::new());
        stop_in.store(true, Ordering::Relaxed);
    });
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        println!(
            "TICK {:.3} {} {} {}",
            now(),
            ok_n.load(Ordering::Relaxed),
            err_n.load(Ordering::Relaxed),
            client.topology_version()
        );
        std::io::stdout().flush().ok();
    }
    for w in workers {
        let _ = w.await;
    }

    // Read back every acknowledged write with the same client.
    let acked = std::mem::take(&mut tally.lock().unwrap().acked);
    let n_acked = acked.len();
    let acked = Arc::new(acked);
    let (lost, unreadable) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut checkers = Vec::new();
    for c in 0..64usize {
        let (client, acked, lost, unreadable) = (
            client.clone(),
            acked.clone(),
            lost.clone(),
            unreadable.clone(),
        );
        checkers.push(tokio::spawn(async move {
            for (key, value) in acked.iter().skip(c).step_by(64) {
                let mut done = false;
                for attempt in 0..3u64 {
                    match client.execute(cmd("GET").arg(key)).await {
                        Ok(v) => {
                            if !is(&v, value) {
                                lost.fetch_add(1, Ordering::Relaxed);
                            }
                            done = true;
                            break;
                        }
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await
                        }
                    }
                }
                if !done {
                    unreadable.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for c in checkers {
        let _ = c.await;
    }
    let t = tally.lock().unwrap();
    let recovered = t
        .last_err
        .keys()
        .all(|k| t.ok_after.get(k).copied().flatten().is_some());
    let served_again = if t.last_err.is_empty() {
        None
    } else {
        t.ok_after.values().flatten().copied().reduce(f64::max)
    };
    let mut timeline: Vec<(i64, (u64, u64))> = t.buckets.iter().map(|(k, v)| (*k, *v)).collect();
    timeline.sort_unstable();
    let out = serde_json::json!({
        "label": label, "client": "slotwise (rust)", "variant": "default", "failed": t.failed,
        "errors_by_type": t.errors, "first_error": t.first_error, "first_error_t": t.first_err_t,
        "last_error_t": t.last_err_t, "served_again_t": served_again, "recovered": recovered,
        "acked": n_acked, "lost": lost.load(Ordering::Relaxed),
        "unreadable": unreadable.load(Ordering::Relaxed),
        "tag_timeline": t.tag_buckets.iter().map(|((tag, k), (ok, err))| serde_json::json!([tag, *k as f64 / 10.0, ok, err])).collect::<Vec<_>>(),
        "timeline": timeline.iter().map(|(k, (ok, err))| serde_json::json!([*k as f64 / 10.0, ok, err])).collect::<Vec<_>>(),
    });
    println!("{out}");
    client.close();
}
