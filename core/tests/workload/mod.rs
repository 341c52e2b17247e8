//! A checked workload for the resilience scenarios: workers write unique values and read them
//! back through one client while the test breaks the deployment, recording every failure,
//! every wrong answer, every acknowledged write, and the longest gap in service per shard.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slotwise::slot::key_slot;
use slotwise::{cmd, Client, Error, Value};

/// A hash tag per shard of the topology at start, so each worker stays on one shard.
pub fn tags_per_shard(client: &Client) -> Vec<String> {
    let topo = client.topology();
    let mut tags = Vec::new();
    for (i, shard) in topo
        .shards()
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.slots.is_empty())
    {
        let mut n = 0u64;
        loop {
            let tag = format!("s{i}-{n}");
            if topo
                .shard_for_slot(key_slot(tag.as_bytes()))
                .map(|s| &s.primary.addr)
                == Some(&shard.primary.addr)
            {
                tags.push(tag);
                break;
            }
            n += 1;
        }
    }
    tags
}

/// A read that returned neither the acknowledged value nor an unknown-outcome one.
#[derive(Debug, Clone)]
pub struct WrongRead {
    pub key: String,
    pub got: Option<u64>,
    pub acked: Option<u64>,
    /// When the acknowledged value was acknowledged.
    pub acked_at: Option<Instant>,
    pub read_at: Instant,
}

#[derive(Debug, Default)]
struct Shared {
    failures: Vec<(Instant, String, Error)>,
    wrong: Vec<String>,
    wrong_reads: Vec<WrongRead>,
    /// key → last acknowledged value, and whether a later write's outcome is unknown.
    acked: HashMap<String, (u64, bool)>,
    /// key → when its last acknowledged write was acknowledged.
    acked_at: HashMap<String, Instant>,
    /// Keep every acknowledgement in `acks` (off for long runs that measure memory).
    history: bool,
    last_ok: HashMap<String, Instant>,
    max_gap: HashMap<String, Duration>,
    ops: u64,
    /// Every acknowledged write: key, value, when the acknowledgement arrived.
    acks: Vec<(String, u64, Instant)>,
    /// Every write that failed with an unknown outcome: key, value.
    unknown: Vec<(String, u64)>,
}

pub struct Workload {
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub tags: Vec<String>,
}

#[derive(Debug)]
pub struct Report {
    pub ops: u64,
    pub failures: Vec<(Instant, String, Error)>,
    pub wrong: Vec<String>,
    /// The same wrong answers, as data.
    pub wrong_reads: Vec<WrongRead>,
    pub acked: HashMap<String, (u64, bool)>,
    /// key → when its last acknowledged write was acknowledged.
    pub acked_at: HashMap<String, Instant>,
    /// Per shard tag: the longest time between two successful operations.
    pub max_gap: HashMap<String, Duration>,
    /// Every acknowledged write: key, value (unique per worker), when the acknowledgement
    /// arrived. Lets a test ask which server acknowledged what, and when. Empty for a
    /// [`Workload::start_bounded`] run.
    pub acks: Vec<(String, u64, Instant)>,
    /// Every write that failed saying it may have run: key, value.
    pub unknown: Vec<(String, u64)>,
}

impl Report {
    /// No operation failed and every answer was right.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert!(
            self.failures.is_empty(),
            "failed operations: {:#?}",
            self.failures
        );
        self.assert_no_wrong_answers();
    }

    /// Every answer was right (failures may be allowed by the caller).
    #[track_caller]
    pub fn assert_no_wrong_answers(&self) {
        assert!(self.wrong.is_empty(), "wrong answers: {:#?}", self.wrong);
    }

    pub fn worst_gap(&self) -> Duration {
        self.max_gap.values().copied().max().unwrap_or_default()
    }
}

impl Workload {
    /// `per_shard` workers per shard tag, each owning its own keys.
    pub fn start(client: &Client, per_shard: usize) -> Workload {
        Self::start_with(client, per_shard, true)
    }

    /// Like [`Workload::start`], but its memory does not grow with the operations (no
    /// acknowledgement history): for long runs that measure the process's memory.
    pub fn start_bounded(client: &Client, per_shard: usize) -> Workload {
        Self::start_with(client, per_shard, false)
    }

    fn start_with(client: &Client, per_shard: usize, history: bool) -> Workload {
        let tags = tags_per_shard(client);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared {
            history,
            ..Shared::default()
        }));
        let mut tasks = Vec::new();
        for tag in &tags {
            for w in 0..per_shard {
                let (client, stop, shared, tag) =
                    (client.clone(), stop.clone(), shared.clone(), tag.clone());
                tasks.push(tokio::spawn(async move {
                    worker(client, stop, shared, tag, w).await
                }));
            }
        }
        Workload {
            stop,
            shared,
            tasks,
            tags,
        }
    }

    pub async fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("worker panicked");
        }
        let s = std::mem::take(&mut *self.shared.lock().unwrap());
        Report {
            ops: s.ops,
            failures: s.failures,
            wrong: s.wrong,
            wrong_reads: s.wrong_reads,
            acked: s.acked,
            acked_at: s.acked_at,
            max_gap: s.max_gap,
            acks: s.acks,
            unknown: s.unknown,
        }
    }

    pub fn ops(&self) -> u64 {
        self.shared.lock().unwrap().ops
    }

    /// Failed operations so far.
    pub fn failures(&self) -> usize {
        self.shared.lock().unwrap().failures.len()
    }

    /// True when the shard of `tag` completed an operation successfully at or after `t`.
    pub fn tag_served_since(&self, tag: &str, t: Instant) -> bool {
        self.shared
            .lock()
            .unwrap()
            .last_ok
            .get(tag)
            .is_some_and(|ok| *ok >= t)
    }

    /// True when every shard tag completed an operation successfully at or after `t`.
    pub fn served_since(&self, t: Instant) -> bool {
        let s = self.shared.lock().unwrap();
        self.tags
            .iter()
            .all(|tag| s.last_ok.get(tag).is_some_and(|ok| *ok >= t))
    }

    /// Waits until every shard was served at or after `t`; returns the time from `t` until
    /// that was seen (polled every 20 ms). Panics after `timeout`.
    pub async fn wait_all_served(&self, t: Instant, timeout: Duration) -> Duration {
        eventually("every shard is served again", timeout, || {
            self.served_since(t)
        })
        .await;
        t.elapsed()
    }
}

async fn worker(
    client: Client,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    tag: String,
    w: usize,
) {
    let mut seq = 0u64;
    // The value this worker last had acknowledged per key, and the unknown-outcome one if any.
    let mut known: HashMap<String, (Option<u64>, Option<u64>)> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let key = format!("{{{tag}}}:w{w}:k{}", seq % 20);
        let value = seq;
        let set = client.execute(cmd("SET").arg(&key).arg(value)).await;
        let now = Instant::now();
        {
            let mut s = shared.lock().unwrap();
            match &set {
                Ok(_) => {
                    s.ops += 1;
                    s.acked.insert(key.clone(), (value, false));
                    s.acked_at.insert(key.clone(), now);
                    if s.history {
                        s.acks.push((key.clone(), value, now));
                    }
                    note_ok(&mut s, &tag, now);
                    known.insert(key.clone(), (Some(value), None));
                }
                Err(e) => {
                    s.failures.push((now, format!("SET {key}"), e.clone()));
                    if e.may_have_run() {
                        s.unknown.push((key.clone(), value));
                        if let Some(a) = s.acked.get_mut(&key) {
                            a.1 = true;
                        }
                        let prev = known.get(&key).and_then(|k| k.0);
                        known.insert(key.clone(), (prev, Some(value)));
                    }
                }
            }
        }
        let get = client.execute(cmd("GET").arg(&key)).await;
        let now = Instant::now();
        let mut s = shared.lock().unwrap();
        match get {
            Ok(v) => {
                s.ops += 1;
                note_ok(&mut s, &tag, now);
                let got = match &v {
                    Value::Nil => None,
                    other => other.as_int().map(|n| n as u64),
                };
                let (acked, maybe) = known.get(&key).copied().unwrap_or((None, None));
                if got != acked && got != maybe {
                    let wrong = WrongRead {
                        key: key.clone(),
                        got,
                        acked,
                        acked_at: s.acked_at.get(&key).copied(),
                        read_at: now,
                    };
                    s.wrong_reads.push(wrong);
                    s.wrong.push(format!(
                        "GET {key}: got {got:?}, acknowledged {acked:?}, unknown-outcome {maybe:?}"
                    ));
                }
            }
            Err(e) => s.failures.push((now, format!("GET {key}"), e)),
        }
    }
}

fn note_ok(s: &mut Shared, tag: &str, now: Instant) {
    if let Some(prev) = s.last_ok.insert(tag.to_owned(), now) {
        let gap = now - prev;
        let e = s.max_gap.entry(tag.to_owned()).or_default();
        if gap > *e {
            *e = gap;
        }
    }
}

/// An acknowledged write not found at the end.
#[derive(Debug, Clone)]
pub struct Lost {
    pub key: String,
    /// The last acknowledged value of the key.
    pub value: u64,
    /// What was read back (`None`: nil or not a number), or why the read failed.
    pub got: Result<Option<u64>, String>,
}

/// Reads every acknowledged key back at the end: its value must be the last acknowledged one
/// (or, when a later write's outcome was unknown, possibly that one). Returns the mismatches.
pub async fn lost_acked(client: &Client, report: &Report) -> Vec<Lost> {
    let mut lost = Vec::new();
    for (key, (value, later_unknown)) in &report.acked {
        let got = match client.execute(cmd("GET").arg(key)).await {
            Ok(v) => Ok(v.as_int().map(|n| n as u64)),
            Err(e) => Err(e.to_string()),
        };
        if got != Ok(Some(*value)) && !(got.is_ok() && *later_unknown) {
            lost.push(Lost {
                key: key.clone(),
                value: *value,
                got,
            });
        }
    }
    lost
}

/// [`lost_acked`], as messages.
pub async fn verify_acked(client: &Client, report: &Report) -> Vec<String> {
    lost_acked(client, report)
        .await
        .into_iter()
        .map(|l| match l.got {
            Ok(n) => format!("{}: acknowledged {}, read back {n:?}", l.key, l.value),
            Err(e) => format!("{}: read back failed: {e}", l.key),
        })
        .collect()
}

/// Polls until `f` holds, checking every 20 ms; panics with `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < timeout, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}
