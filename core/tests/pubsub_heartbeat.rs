//! A pub/sub connection that dies without being closed (a NAT or firewall dropped it, a
//! partition): the server is fine, but nothing it sends reaches us and no FIN or RST ever
//! comes. A real server behind a loopback TCP proxy that can freeze the connections it
//! carries (keeping both sockets open, forwarding nothing) makes one. The heartbeat must find
//! it and make every subscription again; without it the subscriber waits forever.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotwise::pubsub::Kind;
use slotwise::{cmd, Client, Options, PubSub, PubSubItem};
use support::Deployment;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy on 127.0.0.1 in front of one server. `freeze` stops every connection open at
/// that moment, for good, without closing it; later connections are forwarded normally.
struct Proxy {
    addr: String,
    frozen_below: Arc<AtomicU64>,
    next_id: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let frozen_below = Arc::new(AtomicU64::new(0));
        let next_id = Arc::new(AtomicU64::new(1));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let (fb, ids, st) = (frozen_below.clone(), next_id.clone(), stop.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(id, cr, sw, fb.clone()));
                tokio::spawn(pump(id, sr, cw, fb.clone()));
            }
        });
        Proxy {
            addr,
            frozen_below,
            next_id,
            stop,
        }
    }

    /// Every connection open now stops forwarding (in both directions) and stays open.
    fn freeze_open_connections(&self) {
        self.frozen_below
            .store(self.next_id.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies `from` to `to` until either ends; once connection `id` is frozen it holds what it
/// read and never writes again (the sockets stay open, as with a dropped NAT entry).
async fn pump(
    id: u64,
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen_below: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if id < frozen_below.load(Ordering::Relaxed) {
            // Hold both halves open forever (until the test's runtime ends).
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Subscribes to a channel, a pattern and a shard channel through the proxy, checks a message
/// of each comes, freezes the proxy's connections, and publishes every 50 ms directly to the
/// server. Returns the items received after the freeze, with their arrival, by `within`.
async fn freeze_and_watch(heartbeat: Duration, within: Duration) -> Vec<(Duration, PubSubItem)> {
    let d = Deployment::standalone();
    let proxy = Proxy::start(&d.seeds[0]).await;
    let opts = Options::default().with_pubsub_heartbeat(heartbeat);
    let client = Client::standalone(&proxy.addr, opts)
        .await
        .expect("connect");
    let publisher = Client::standalone(&d.seeds[0], Options::default())
        .await
        .expect("publisher");
    let ps: PubSub = client.pubsub().expect("pubsub");
    ps.subscribe(Kind::Channel, ["hb"])
        .await
        .expect("subscribe");
    ps.subscribe(Kind::Pattern, ["h?"])
        .await
        .expect("psubscribe");
    ps.subscribe(Kind::Sharded, ["hb:s"])
        .await
        .expect("ssubscribe");
    let publish = |n: u64| {
        let p = publisher.clone();
        async move {
            p.execute(cmd("PUBLISH").arg("hb").arg(n))
                .await
                .expect("PUBLISH");
            p.execute(cmd("SPUBLISH").arg("hb:s").arg(n))
                .await
                .expect("SPUBLISH");
        }
    };
    publish(0).await;
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), ps.next()).await {
            Ok(Some(PubSubItem::Message { kind, .. })) => kinds.push(kind),
            Ok(Some(_)) => {}
            other => panic!("message 0 of every kind before the freeze: {other:?}, got {kinds:?}"),
        }
    }

    proxy.freeze_open_connections();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut n = 0;
    while t0.elapsed() < within {
        n += 1;
        publish(n).await;
        let end = Instant::now() + Duration::from_millis(50);
        while let Ok(Some(item)) = tokio::time::timeout_at(end.into(), ps.next()).await {
            got.push((t0.elapsed(), item));
        }
    }
    ps.close();
    client.close();
    got
}

fn resubscribed(items: &[(Duration, PubSubItem)]) -> Vec<(Duration, Vec<Kind>)> {
    items
        .iter()
        .filter_map(|(t, i)| match i {
            PubSubItem::Resubscribed { subscriptions, .. } => {
                Some((*t, subscriptions.iter().map(|k| k.0).collect()))
            }
            _ => None,
        })
        .collect()
}

fn messages_after(items: &[(Duration, PubSubItem)], t: Duration) -> Vec<Kind> {
    items
        .iter()
        .filter(|(at, _)| *at > t)
        .filter_map(|(_, i)| match i {
            PubSubItem::Message { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_finds_a_half_open_connection_and_resubscribes() {
    let heartbeat = Duration::from_millis(500);
    let items = freeze_and_watch(heartbeat, Duration::from_secs(6)).await;
    let back = resubscribed(&items);
    let kinds: Vec<Kind> = back.iter().flat_map(|(_, k)| k.clone()).collect();
    for k in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
        assert_eq!(
            kinds.iter().filter(|x| **x == k).count(),
            1,
            "{k:?} resubscribed once: {back:?}"
        );
    }
    let last = back.iter().map(|(t, _)| *t).max().expect("resubscribed");
    // Silence for one heartbeat, a PING, silence for one more: never sooner.
    assert!(
        last >= heartbeat * 2 - Duration::from_millis(100),
        "resubscribed after {last:?}, before the heartbeat could know"
    );
    assert!(
        last < Duration::from_secs(4),
        "resubscribed only after {last:?}"
    );
    let after = messages_after(&items, last);
    for k in [Kind::Channel, Kind::Pattern, Kind::Sharded] {
        assert!(
            after.iter().filter(|x| **x == k).count() >= 10,
            "{k:?} messages flow again after the resubscription: {after:?}"
        );
    }
    println!("MEASURE pubsub half-open connection: resubscribed after {last:?} (heartbeat {heartbeat:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_heartbeat_a_half_open_subscriber_waits_forever() {
    // The control: the same freeze with the heartbeat off leaves the subscriber deaf, so the
    // test above measures the heartbeat, not some other way back.
    let items = freeze_and_watch(Duration::ZERO, Duration::from_secs(3)).await;
    assert!(resubscribed(&items).is_empty(), "{items:?}");
    assert!(
        messages_after(&items, Duration::ZERO).is_empty(),
        "{items:?}"
    );
}
