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
    /// The reply of an acknowledged publish: how many subscribers the node that took it
    /// delivered the message to itself (in a cluster, PUBLISH reaches the other nodes' over
    /// the cluster bus and counts only local subscribers).
    pub receivers: Option<i64>,
    /// The error of a failed publish.
    pub error: Option<String>,
}

impl Published {
    /// A classic publish the node that took it had to relay over the cluster bus to reach
    /// our subscription (it delivered to no subscriber of its own).
    pub fn relayed(&self) -> bool {
        !self.sharded && self.receivers == Some(0)
    }
}

fn in_window(t: Instant, (from, to): (Instant, Instant)) -> bool {
    t >= from && t <= to
}

pub struct Traffic {
    stop: Arc<AtomicBool>,
    pub published: Arc<Mutex<Vec<Published>>>,
    pub received: Arc<Mutex<Vec<(Instant, PubSubItem)>>>,
    publishers: [tokio::task::JoinHandle<()>; 2],
    receiver: tokio::task::JoinHandle<()>,
    ps: Arc<PubSub>,
}

impl Traffic {
    /// Subscribes `ps` to the classic channel, the pattern and `shard_channel`, then starts
    /// publishing to the classic channel and `shard_channel` every 10 ms through `client`.
    pub async fn start(client: &Client, ps: PubSub, shard_channel: &str) -> Traffic {
        ps.subscribe(Kind::Channel, [CHANNEL])
            .await
            .expect("subscribe");
        ps.subscribe(Kind::Pattern, [PATTERN])
            .await
            .expect("psubscribe");
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
        // One publisher per kind: a SPUBLISH waiting for its shard's failover must not hold
        // up the classic messages.
        let publishers = [false, true].map(|sharded| {
            let (stop, published) = (stop.clone(), published.clone());
            let client = client.clone();
            let (verb, ch) = if sharded {
                ("SPUBLISH", shard_channel.to_owned())
            } else {
                ("PUBLISH", CHANNEL.to_owned())
            };
            tokio::spawn(async move {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    let start = Instant::now();
                    let r = client
                        .execute(cmd(verb).arg(ch.as_str()).arg(seq.to_string()))
                        .await;
                    published.lock().unwrap().push(Published {
                        sharded,
                        seq,
                        start,
                        end: Instant::now(),
                        ok: r.is_ok(),
                        receivers: match &r {
                            Ok(slotwise::Value::Int(n)) => Some(*n),
                            _ => None,
                        },
                        error: r.err().map(|e| e.to_string()),
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        });
        Traffic {
            stop,
            published,
            received,
            publishers,
            receiver,
            ps,
        }
    }

    /// True once a message of `kind` published after `t` was received.
    pub fn flowing_since(&self, kind: Kind, t: Instant) -> bool {
        let sharded = kind == Kind::Sharded;
        // The one publish in flight at `t` is not yet recorded: skip a number past the last.
        let Some(first) = self
            .published
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.sharded == sharded && p.start <= t)
            .map(|p| p.seq + 2)
            .max()
        else {
            return false;
        };
        self.received
            .lock()
            .unwrap()
            .iter()
            .any(|(_, i)| matches!(i, PubSubItem::Message { kind: k, payload, .. } if *k == kind && num(payload) >= first))
    }

    /// Stops publishing, waits for the last messages, closes the pub/sub.
    pub async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        for p in self.publishers {
            p.await.expect("publisher");
        }
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
    /// Every item but messages, with its arrival relative to `t0` (for failure messages).
    pub fn timeline(&self, t0: Instant) -> Vec<String> {
        self.received
            .iter()
            .filter(|(_, i)| !matches!(i, PubSubItem::Message { .. }))
            .map(|(t, i)| {
                let at = if *t >= t0 {
                    format!("+{:?}", t.duration_since(t0))
                } else {
                    format!("-{:?}", t0.duration_since(*t))
                };
                format!("{at} {i:?}")
            })
            .collect()
    }

    /// Arrival times of the `Resubscribed` items naming a subscription of `kind`.
    pub fn resubscribed(&self, kind: Kind) -> Vec<Instant> {
        self.received
            .iter()
            .filter(|(_, i)| matches!(i, PubSubItem::Resubscribed { subscriptions, .. } if subscriptions.iter().any(|k| k.0 == kind)))
            .map(|(t, _)| *t)
            .collect()
    }

    /// From `t` until the `Resubscribed` item naming `kind` arrived.
    pub fn restored_after(&self, kind: Kind, t: Instant) -> Option<Duration> {
        self.resubscribed(kind)
            .first()
            .map(|at| at.duration_since(t))
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

    /// Panics when a message arrived twice (but see below), a `Dropped` item came, or a kind
    /// saw more than one `Resubscribed`.
    ///
    /// A message may arrive a second time only across a `Resubscribed` of its kind: Redis
    /// delivers a PUBLISH (SPUBLISH) on the node that takes it and relays it to the others
    /// over the cluster bus, so one taken by the node our subscription just left may still be
    /// on its way to the node we moved to, and reach us from both. A client that delivered
    /// twice by itself (two live connections for one subscription) would show copies that do
    /// not straddle a resubscription.
    pub fn assert_no_duplicates(&self) {
        let mut seen: HashMap<(Kind, u64), Vec<Instant>> = HashMap::new();
        for (at, i) in &self.received {
            match i {
                PubSubItem::Message { kind, payload, .. } => {
                    seen.entry((*kind, num(payload))).or_default().push(*at)
                }
                PubSubItem::Dropped { count } => panic!("{count} messages dropped"),
                _ => {}
            }
        }
        let mut straddling = Vec::new();
        let mut wrong = Vec::new();
        for ((kind, n), times) in seen.iter().filter(|(_, t)| t.len() > 1) {
            let across = times.len() == 2
                && self
                    .resubscribed(*kind)
                    .iter()
                    .any(|r| times[0] <= *r && *r <= times[1]);
            if across {
                straddling.push((*kind, *n));
            } else {
                wrong.push(((*kind, *n), times.len()));
            }
        }
        assert!(
            wrong.is_empty(),
            "messages received more than once, not across a resubscription: {wrong:?}"
        );
        if !straddling.is_empty() {
            eprintln!("received again across a resubscription (relayed over the cluster bus while the subscription moved): {straddling:?}");
        }
        for kind in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
            let n = self.resubscribed(kind).len();
            assert!(
                n <= 1,
                "{kind:?}: {n} Resubscribed items for one interruption"
            );
        }
    }

    /// Every acknowledged publish that started after `kind`'s recovery (its `Resubscribed`
    /// item, or `since` when it was never interrupted) arrived exactly once. Returns how many
    /// were checked.
    ///
    /// Except some classic publishes that the node taking them had to relay over the cluster
    /// bus (it counted no subscriber of its own: [`Published::relayed`]). Redis relays them
    /// at most once: a bus link that is being re-established (a loaded machine stalls a
    /// node's PONG past half the node timeout, and the link is dropped) or a node the others
    /// already forgot drops them, and no client can deliver what never reached its
    /// connection. The client cannot tell a relayed message from a direct one (same
    /// connection, same frames), so a client that lost messages would lose direct ones too:
    /// every direct one must arrive exactly once. Relayed ones may be missing only within
    /// `relay_excused` (a node leaving: from the moment the others forget it until it dies) or
    /// 1 in 50 elsewhere; duplicates never.
    pub fn assert_exactly_once_after_recovery(
        &self,
        kind: Kind,
        since: Instant,
        relay_excused: Option<(Instant, Instant)>,
    ) -> usize {
        let from = self
            .resubscribed(kind)
            .into_iter()
            .max()
            .unwrap_or(since)
            .max(since);
        let got: HashMap<u64, usize> = self
            .received
            .iter()
            .filter_map(|(_, i)| match i {
                PubSubItem::Message {
                    kind: k, payload, ..
                } if *k == kind => Some(num(payload)),
                _ => None,
            })
            .fold(HashMap::new(), |mut m, n| {
                *m.entry(n).or_default() += 1;
                m
            });
        let sharded = kind == Kind::Sharded;
        let due: Vec<&Published> = self
            .published
            .iter()
            .filter(|p| p.sharded == sharded && p.ok && p.start > from)
            .collect();
        let describe = |p: &Published| {
            format!(
                "#{} (received {}x, started {:?} after the check's start, took {:?}, node's own receivers {:?})",
                p.seq,
                got.get(&p.seq).copied().unwrap_or(0),
                p.start.saturating_duration_since(from),
                p.end.duration_since(p.start),
                p.receivers
            )
        };
        let wrong: Vec<&Published> = due
            .iter()
            .copied()
            .filter(|p| got.get(&p.seq) != Some(&1))
            .collect();
        let excused = |p: &Published| {
            p.relayed()
                && !got.contains_key(&p.seq)
                && relay_excused.is_some_and(|w| in_window(p.start, w))
        };
        let relayed = due.iter().filter(|p| p.relayed()).count();
        let lost_relays: Vec<String> = wrong
            .iter()
            .filter(|p| p.relayed() && !got.contains_key(&p.seq) && !excused(p))
            .map(|p| describe(p))
            .collect();
        let not_excused: Vec<String> = wrong
            .iter()
            .filter(|p| !p.relayed() || got.contains_key(&p.seq))
            .map(|p| describe(p))
            .collect();
        assert!(
            not_excused.is_empty(),
            "{kind:?}: {} of {} messages published after the recovery not received exactly once: {:#?}",
            not_excused.len(),
            due.len(),
            &not_excused[..not_excused.len().min(20)]
        );
        assert!(
            lost_relays.len() <= relayed.div_ceil(50),
            "{kind:?}: {} of {relayed} messages relayed over the cluster bus never arrived: {:#?}",
            lost_relays.len(),
            &lost_relays[..lost_relays.len().min(20)]
        );
        if !lost_relays.is_empty() {
            eprintln!("{kind:?}: relayed over the cluster bus and never arrived (Redis drops such relays on a link being re-established): {lost_relays:#?}");
        }
        assert!(
            due.len() > 20,
            "{kind:?}: too few messages after the recovery: {}",
            due.len()
        );
        due.len()
    }

    /// From `t` until messages of `kind` flow again: the first message published after its
    /// `Resubscribed` item (after `t` when it was never interrupted) arrived.
    pub fn flowing_again_after(&self, kind: Kind, t: Instant) -> Option<Duration> {
        let sharded = kind == Kind::Sharded;
        let from = self
            .resubscribed(kind)
            .into_iter()
            .max()
            .unwrap_or(t)
            .max(t);
        let after: std::collections::HashSet<u64> = self
            .published
            .iter()
            .filter(|p| p.sharded == sharded && p.start > from)
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
                PubSubItem::Message {
                    kind: k, payload, ..
                } if *k == kind => Some(num(payload)),
                _ => None,
            })
            .collect();
        self.published
            .iter()
            .filter(|p| p.sharded == sharded && p.ok && !got.contains(&p.seq))
            .count()
    }
}
