//! Pub/sub traffic for the scenario tests: a publisher numbering every message, a receiver
//! recording every item with its arrival time, and the checks (no message twice, every
//! message published after the recovery received exactly once, one `Resubscribed` per
//! interruption).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slotwise::pubsub::Kind;
use slotwise::{cmd, Client, PubSub, PubSubItem};

/// The classic channel (also matched by `PATTERN`) and the pattern.
pub const CHANNEL: &str = "news.classic";
pub const PATTERN: &str = "news.cl*";

/// One publish: its kind, number, when it started and ended, whether the server acknowledged.
#[derive(Clone, Debug)]
pub struct Published {
    pub sharded: bool,
    pub seq: u64,
    pub start: Instant,
    pub end: Instant,
    pub ok: bool,
}

pub struct Traffic {
    stop: Arc<AtomicBool>,
    pub published: Arc<Mutex<Vec<Published>>>,
    pub received: Arc<Mutex<Vec<(Instant, PubSubItem)>>>,
    publisher: tokio::task::JoinHandle<()>,
    receiver: tokio::task::JoinHandle<()>,
    ps: Arc<PubSub>,
}

impl Traffic {
    /// Subscribes `ps` to the classic channel, the pattern and `shard_channel`, then starts
    /// publishing to the classic channel and `shard_channel` every 10 ms through `client`.
    pub async fn start(client: &Client, ps: PubSub, shard_channel: &str) -> Traffic {
        ps.subscribe(Kind::Channel, [CHANNEL]).await.expect("subscribe");
        ps.subscribe(Kind::Pattern, [PATTERN]).await.expect("psubscribe");
        ps.subscribe(Kind::Sharded, [shard_channel])
            .await
            .expect("ssubscribe");
        let ps = Arc::new(ps);
        let received = Arc::new(Mutex::new(Vec::new()));
        let receiver = {
            let (ps, received) = (ps.clone(), received.clone());
            tokio::spawn(async move {
                while let Some(item) = ps.next().await {
                    received.lock().unwrap().push((Instant::now(), item));
                }
            })
        };
        let stop = Arc::new(AtomicBool::new(false));
        let published = Arc::new(Mutex::new(Vec::new()));
        let publisher = {
            let (stop, published) = (stop.clone(), published.clone());
            let client = client.clone();
            let shard_channel = shard_channel.to_owned();
            tokio::spawn(async move {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    for sharded in [false, true] {
                        let (verb, ch) = if sharded {
                            ("SPUBLISH", shard_channel.as_str())
                        } else {
                            ("PUBLISH", CHANNEL)
                        };
                        let start = Instant::now();
                        let ok = client
                            .execute(cmd(verb).arg(ch).arg(seq.to_string()))
                            .await
                            .is_ok();
                        published.lock().unwrap().push(Published {
                            sharded,
                            seq,
                            start,
                            end: Instant::now(),
                            ok,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        Traffic {
            stop,
            published,
            received,
            publisher,
            receiver,
            ps,
        }
    }

    /// Messages received so far of `kind` numbered above `seq`.
    pub fn received_after(&self, kind: Kind, seq: u64) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, i)| matches!(i, PubSubItem::Message { kind: k, payload, .. } if *k == kind && num(payload) > seq))
            .count()
    }

    /// The highest number published so far.
    pub fn last_seq(&self) -> u64 {
        self.published.lock().unwrap().last().map_or(0, |p| p.seq)
    }

    /// Stops publishing, waits for the last messages, closes the pub/sub.
    pub async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        self.publisher.await.expect("publisher");
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.ps.close();
        self.receiver.await.expect("receiver");
        Outcome {
            published: self.published.lock().unwrap().clone(),
            received: self.received.lock().unwrap().clone(),
        }
    }
}

fn num(payload: &[u8]) -> u64 {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub struct Outcome {
    pub published: Vec<Published>,
    pub received: Vec<(Instant, PubSubItem)>,
}

impl Outcome {
    /// Arrival times of the `Resubscribed` items naming a subscription of `kind`.
    pub fn resubscribed(&self, kind: Kind) -> Vec<Instant> {
        self.received
            .iter()
            .filter(|(_, i)| matches!(i, PubSubItem::Resubscribed { subscriptions, .. } if subscriptions.iter().any(|k| k.0 == kind)))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Longest `interrupted_for` reported.
    pub fn longest_interruption(&self) -> Option<Duration> {
        self.received
            .iter()
            .filter_map(|(_, i)| match i {
                PubSubItem::Resubscribed {
                    interrupted_for, ..
                } => Some(*interrupted_for),
                _ => None,
            })
            .max()
    }

    /// Panics when any message arrived twice through one subscription, a `Dropped` item came,
    /// or a kind saw more than one `Resubscribed`.
    pub fn assert_no_duplicates(&self) {
        let mut seen: HashMap<(Kind, u64), usize> = HashMap::new();
        for (_, i) in &self.received {
            match i {
                PubSubItem::Message { kind, payload, .. } => {
                    *seen.entry((*kind, num(payload))).or_default() += 1
                }
                PubSubItem::Dropped { count } => panic!("{count} messages dropped"),
                _ => {}
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "messages received more than once: {twice:?}");
        for kind in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
            let n = self.resubscribed(kind).len();
            assert!(n <= 1, "{kind:?}: {n} Resubscribed items for one interruption");
        }
    }

    /// Every acknowledged publish that started after `kind`'s recovery (its `Resubscribed`
    /// item, or `since` when it was never interrupted) arrived exactly once. Returns how many
    /// were checked.
    pub fn assert_exactly_once_after_recovery(&self, kind: Kind, since: Instant) -> usize {
        let from = self.resubscribed(kind).into_iter().max().unwrap_or(since).max(since);
        let got: HashMap<u64, usize> = self
            .received
            .iter()
            .filter_map(|(_, i)| match i {
                PubSubItem::Message { kind: k, payload, .. } if *k == kind => Some(num(payload)),
                _ => None,
            })
            .fold(HashMap::new(), |mut m, n| {
                *m.entry(n).or_default() += 1;
                m
            });
        let sharded = kind == Kind::Sharded;
        let due: Vec<u64> = self
            .published
            .iter()
            .filter(|p| p.sharded == sharded && p.ok && p.start > from)
            .map(|p| p.seq)
            .collect();
        let missing: Vec<u64> = due.iter().copied().filter(|s| got.get(s) != Some(&1)).collect();
        assert!(
            missing.is_empty(),
            "{kind:?}: {} of {} messages published after the recovery not received exactly once: {:?}",
            missing.len(),
            due.len(),
            &missing[..missing.len().min(20)]
        );
        assert!(due.len() > 20, "{kind:?}: too few messages after the recovery: {}", due.len());
        due.len()
    }

    /// From `t` until the first message of `kind` published after `t` arrived.
    pub fn flowing_again_after(&self, kind: Kind, t: Instant) -> Option<Duration> {
        let sharded = kind == Kind::Sharded;
        let after: std::collections::HashSet<u64> = self
            .published
            .iter()
            .filter(|p| p.sharded == sharded && p.start > t)
            .map(|p| p.seq)
            .collect();
        self.received
            .iter()
            .find(|(_, i)| matches!(i, PubSubItem::Message { kind: k, payload, .. } if *k == kind && after.contains(&num(payload))))
            .map(|(at, _)| at.duration_since(t))
    }

    /// Acknowledged publishes of `kind` never received (lost during an interruption).
    pub fn missed(&self, kind: Kind) -> usize {
        let sharded = kind == Kind::Sharded;
        let got: std::collections::HashSet<u64> = self
            .received
            .iter()
            .filter_map(|(_, i)| match i {
                PubSubItem::Message { kind: k, payload, .. } if *k == kind => Some(num(payload)),
                _ => None,
            })
            .collect();
        self.published
            .iter()
            .filter(|p| p.sharded == sharded && p.ok && !got.contains(&p.seq))
            .count()
    }
}
