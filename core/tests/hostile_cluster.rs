//! Hostile cluster nodes (scripted fakes, `fake/mod.rs`): MOVED loops between two nodes,
//! topology replies with overlapping or missing slot ranges, zero ports, empty or duplicate
//! node ids, and a node that accepts connections and never answers. Each must give a clear
//! error in time or be ignored (a refused refresh is logged as a warning), never a panic, a
//! hang or a request routed to the wrong node.

mod fake;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake::{array, bulk, shard, shard_node, within, Act, Fake};
use slotwise::slot::key_slot;
use slotwise::{cmd, Client, ErrorKind, Options};

const LIMIT: Duration = Duration::from_secs(30);

fn opts() -> Options {
    Options::default()
        .with_request_timeout(Duration::from_millis(800))
        .with_connect_timeout(Duration::from_millis(300))
        .with_topology_query_timeout(Duration::from_millis(300))
}

/// A fake cluster node: answers `CLUSTER SHARDS` with whatever `shards` holds now, `CLUSTER
/// NODES` with an error (epochs unknown), and GET with its own `name`, counting the GETs.
async fn node(
    bound: fake::Bound,
    name: &'static str,
    shards: Arc<Mutex<String>>,
    gets: Arc<AtomicUsize>,
) -> Fake {
    bound.serve(move |cmd, args| match cmd {
        "CLUSTER" if args[0].eq_ignore_ascii_case(b"SHARDS") => {
            Some(Act::Send(shards.lock().unwrap().clone().into_bytes()))
        }
        "CLUSTER" => Some(Act::Send(b"-ERR not here\r\n".to_vec())),
        "GET" => {
            gets.fetch_add(1, Ordering::SeqCst);
            Some(Act::Send(bulk(name).into_bytes()))
        }
        _ => None,
    })
}

/// A key whose slot is in `lo..=hi`.
fn key_in(lo: u16, hi: u16) -> String {
    (0..)
        .map(|i| format!("key:{i}"))
        .find(|k| (lo..=hi).contains(&key_slot(k.as_bytes())))
        .expect("a key")
}

fn primary(id: &str, port: u16) -> String {
    shard_node(id, "127.0.0.1", port, "master")
}

#[tokio::test]
async fn moved_loop_between_two_nodes_gives_up_in_time() {
    let (a, b) = (fake::bind().await, fake::bind().await);
    let (pa, pb) = (a.port, b.port);
    let view = array(&[shard(&[0, 16383], &[primary("a", pa)])]);
    let gets = Arc::new(AtomicUsize::new(0));
    let script = move |other: u16, gets: Arc<AtomicUsize>, view: String| {
        move |name: &str, args: &[Vec<u8>]| match name {
            "CLUSTER" if args[0].eq_ignore_ascii_case(b"SHARDS") => {
                Some(Act::Send(view.clone().into_bytes()))
            }
            "CLUSTER" => Some(Act::Send(b"-ERR not here\r\n".to_vec())),
            "GET" => {
                gets.fetch_add(1, Ordering::SeqCst);
                let slot = key_slot(&args[0]);
                Some(Act::Send(
                    format!("-MOVED {slot} 127.0.0.1:{other}\r\n").into_bytes(),
                ))
            }
            _ => None,
        }
    };
    let _a = a.serve(script(pb, gets.clone(), view.clone()));
    let _b = b.serve(script(pa, gets.clone(), view));
    within(LIMIT, async {
        let client = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect("connect");
        let started = Instant::now();
        let e = client
            .execute(cmd("GET").arg("k"))
            .await
            .expect_err("MOVED loop");
        assert_eq!(e.kind(), ErrorKind::TooManyRedirects, "{e:?}");
        assert!(!e.may_have_run());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // Default max_redirects is 16: the first attempt plus 16 redirections.
        assert_eq!(gets.load(Ordering::SeqCst), 17);
    })
    .await;
}

#[tokio::test]
async fn overlapping_ranges_refuse_the_view_at_start_and_keep_the_old_one_later() {
    let (a, b) = (fake::bind().await, fake::bind().await);
    let good = array(&[
        shard(&[0, 8191], &[primary("a", a.port)]),
        shard(&[8192, 16383], &[primary("b", b.port)]),
    ]);
    let overlapping = array(&[
        shard(&[0, 10000], &[primary("a", a.port)]),
        shard(&[5000, 16383], &[primary("b", b.port)]),
    ]);
    let view = Arc::new(Mutex::new(overlapping.clone()));
    let gets = Arc::new(AtomicUsize::new(0));
    let (pa, pb) = (a.port, b.port);
    let _a = node(a, "a", view.clone(), gets.clone()).await;
    let _b = node(b, "b", view.clone(), gets.clone()).await;
    within(LIMIT, async {
        let e = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect_err("overlapping view");
        assert_eq!(e.kind(), ErrorKind::Topology, "{e:?}");
        assert!(e.to_string().contains("claimed by two shards"), "{e}");

        *view.lock().unwrap() = good;
        let client = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect("connect");
        *view.lock().unwrap() = overlapping;
        let refresh = client.refresh_topology().await;
        assert!(
            refresh.is_err(),
            "an overlapping view must not be installed"
        );
        let topo = client.topology();
        assert_eq!(
            topo.shard_for_slot(9000).map(|s| s.primary.addr.port),
            Some(pb)
        );
        let k = key_in(8192, 10000);
        let v = client.execute(cmd("GET").arg(&k)).await.expect("GET");
        assert_eq!(v.as_bytes(), Some(&b"b"[..]), "{k} must still go to b");
    })
    .await;
}

#[tokio::test]
async fn missing_ranges_and_zero_ports_fail_in_time_and_nothing_is_sent() {
    let a = fake::bind().await;
    let pa = a.port;
    // Slots 0-8191 on a; 8192-12000 on a primary with port 0 (address unknown: left out);
    // 12001-16383 served by nobody.
    let view = array(&[
        shard(&[0, 8191], &[primary("a", pa)]),
        shard(&[8192, 12000], &[primary("z", 0)]),
    ]);
    let gets = Arc::new(AtomicUsize::new(0));
    let _a = node(a, "a", Arc::new(Mutex::new(view)), gets.clone()).await;
    within(LIMIT, async {
        let client = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect("connect");
        let topo = client.topology();
        assert!(
            topo.nodes().all(|n| n.addr.port != 0),
            "a port-0 node was kept"
        );
        assert_eq!(topo.covered_slots(), 8192);
        let ok = client
            .execute(cmd("GET").arg(key_in(0, 8191)))
            .await
            .expect("served slot");
        assert_eq!(ok.as_bytes(), Some(&b"a"[..]));
        let served = gets.load(Ordering::SeqCst);
        for k in [key_in(8192, 12000), key_in(12001, 16383)] {
            let started = Instant::now();
            let e = client
                .execute(cmd("GET").arg(&k))
                .await
                .expect_err("unserved slot");
            // The client waits (inside the deadline) for a refresh to find an owner, then says
            // which slot nobody serves; the command certainly did not run.
            assert_eq!(e.kind(), ErrorKind::Timeout, "{k}: {e:?}");
            assert!(e.to_string().contains("no node is known to serve"), "{e}");
            assert!(!e.may_have_run());
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        assert_eq!(
            gets.load(Ordering::SeqCst),
            served,
            "an unserved key was sent somewhere"
        );
    })
    .await;
}

#[tokio::test]
async fn empty_and_duplicate_node_ids_still_route_by_address() {
    let (a, b) = (fake::bind().await, fake::bind().await);
    let (pa, pb) = (a.port, b.port);
    // a has no id; b's id is also claimed by a replica at a's address; the replica entry of
    // the second shard names a port-0 node.
    let view = array(&[
        shard(
            &[0, 8191],
            &[
                primary("", pa),
                shard_node("dup", "127.0.0.1", 0, "replica"),
            ],
        ),
        shard(
            &[8192, 16383],
            &[
                primary("dup", pb),
                shard_node("dup", "127.0.0.1", pa, "replica"),
            ],
        ),
    ]);
    let view = Arc::new(Mutex::new(view));
    let gets = Arc::new(AtomicUsize::new(0));
    let _a = node(a, "a", view.clone(), gets.clone()).await;
    let _b = node(b, "b", view, gets).await;
    within(LIMIT, async {
        let client = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect("connect");
        for i in 0..200 {
            let k = format!("k{i}");
            let want: &[u8] = if key_slot(k.as_bytes()) <= 8191 {
                b"a"
            } else {
                b"b"
            };
            let v = client.execute(cmd("GET").arg(&k)).await.expect("GET");
            assert_eq!(v.as_bytes(), Some(want), "{k} routed to the wrong node");
        }
    })
    .await;
}

#[tokio::test]
async fn a_silent_primary_does_not_slow_the_other_one() {
    // b accepts connections (its listener is bound) and never answers anything.
    let (a, b) = (fake::bind().await, fake::bind().await);
    let (pa, pb) = (a.port, b.port);
    let view = array(&[
        shard(&[0, 8191], &[primary("a", pa)]),
        shard(&[8192, 16383], &[primary("b", pb)]),
    ]);
    let gets = Arc::new(AtomicUsize::new(0));
    let _a = node(a, "a", Arc::new(Mutex::new(view)), gets).await;
    let _b = b.serve(|_, _| Some(Act::Silent));
    within(LIMIT, async {
        let client = Arc::new(
            Client::cluster([format!("127.0.0.1:{pa}")], opts())
                .await
                .expect("connect"),
        );
        let to_b: Vec<_> = (0..20)
            .map(|i| {
                let client = client.clone();
                let k = key_in(8192 + i * 100, 16383);
                tokio::spawn(async move { client.execute(cmd("GET").arg(k)).await })
            })
            .collect();
        let mut worst = Duration::ZERO;
        for i in 0..200 {
            let started = Instant::now();
            let v = client
                .execute(cmd("GET").arg(key_in((i % 8) * 1000, 8191)))
                .await
                .expect("a answers");
            assert_eq!(v.as_bytes(), Some(&b"a"[..]));
            worst = worst.max(started.elapsed());
        }
        for t in to_b {
            let e = t.await.expect("task").expect_err("b never answers");
            assert!(
                matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Connect),
                "{e:?}"
            );
        }
        // Generous: a loopback GET takes well under a millisecond; b's requests wait 800 ms.
        assert!(
            worst < Duration::from_millis(400),
            "a GET to a took {worst:?}"
        );
        eprintln!("slowest GET to the live primary while the other hung: {worst:?}");
    })
    .await;
}

#[tokio::test]
async fn moved_to_a_node_the_topology_does_not_know_is_followed() {
    // a's topology names only a; a answers every GET with MOVED to c, which no topology
    // lists. A MOVED is authoritative for its slot: the client follows it to c.
    let (a, c) = (fake::bind().await, fake::bind().await);
    let (pa, pc) = (a.port, c.port);
    let view = array(&[shard(&[0, 16383], &[primary("a", pa)])]);
    let _a = a.serve(move |name, args| match name {
        "CLUSTER" if args[0].eq_ignore_ascii_case(b"SHARDS") => {
            Some(Act::Send(view.clone().into_bytes()))
        }
        "CLUSTER" => Some(Act::Send(b"-ERR not here\r\n".to_vec())),
        "GET" => {
            let slot = key_slot(&args[0]);
            Some(Act::Send(
                format!("-MOVED {slot} 127.0.0.1:{pc}\r\n").into_bytes(),
            ))
        }
        _ => None,
    });
    let gets = Arc::new(AtomicUsize::new(0));
    let _c = node(
        c,
        "c",
        Arc::new(Mutex::new(String::from("*0\r\n"))),
        gets.clone(),
    )
    .await;
    within(LIMIT, async {
        let client = Client::cluster([format!("127.0.0.1:{pa}")], opts())
            .await
            .expect("connect");
        let v = client
            .execute(cmd("GET").arg("k"))
            .await
            .expect("GET via MOVED");
        assert_eq!(v.as_bytes(), Some(&b"c"[..]));
        assert_eq!(gets.load(Ordering::SeqCst), 1);
    })
    .await;
}
