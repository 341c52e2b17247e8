//! The core engine against a real 3x1 Redis Cluster started by the harness.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use slotwise::slot::key_slot;
use slotwise::{cmd, Client, ErrorKind, Options, Value};
use support::Deployment;

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_secs(10))
}

/// One key per slot, found by counting up.
fn key_per_slot() -> Vec<String> {
    let mut keys: Vec<Option<String>> = vec![None; 16384];
    let mut missing = 16384;
    let mut n = 0u64;
    while missing > 0 {
        let k = format!("k:{n}");
        let s = key_slot(k.as_bytes()) as usize;
        if keys[s].is_none() {
            keys[s] = Some(k);
            missing -= 1;
        }
        n += 1;
    }
    keys.into_iter().flatten().collect()
}

fn bulk(s: &str) -> Value {
    Value::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slot_written_and_read_back() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    assert_eq!(client.topology().covered_slots(), 16384);
    let keys = key_per_slot();
    let sets = join_all(
        keys.iter()
            .map(|k| client.execute(cmd("SET").arg(k).arg(format!("v-{k}")))),
    )
    .await;
    for (k, r) in keys.iter().zip(sets) {
        assert_eq!(
            r.unwrap_or_else(|e| panic!("SET {k}: {e}")),
            Value::Simple("OK".into())
        );
    }
    let gets = join_all(keys.iter().map(|k| client.execute(cmd("GET").arg(k)))).await;
    for (k, r) in keys.iter().zip(gets) {
        assert_eq!(r.expect("GET"), bulk(&format!("v-{k}")));
    }
    // Each primary holds exactly the keys of its own slots.
    let total: i64 = client
        .execute(cmd("DBSIZE"))
        .await
        .expect("DBSIZE")
        .as_int()
        .expect("int");
    assert_eq!(total, 16384);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_each_get_their_own_reply() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let n = 10_000;
    let sets = join_all(
        (0..n).map(|i| client.execute(cmd("SET").arg(format!("c:{i}")).arg(format!("val-{i}")))),
    )
    .await;
    assert!(sets.iter().all(|r| r.is_ok()), "a SET failed");
    // INCRBY with distinct amounts: a reply matched to the wrong request shows as a wrong sum.
    let incrs =
        join_all((0..n).map(|i| client.execute(cmd("INCRBY").arg(format!("n:{i}")).arg(i)))).await;
    for (i, r) in incrs.into_iter().enumerate() {
        assert_eq!(r.expect("INCRBY"), Value::Int(i as i64));
    }
    let gets = join_all((0..n).map(|i| client.execute(cmd("GET").arg(format!("c:{i}"))))).await;
    for (i, r) in gets.into_iter().enumerate() {
        assert_eq!(r.expect("GET"), bulk(&format!("val-{i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_slot_multi_key_commands_are_split_and_merged_in_order() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let keys: Vec<String> = (0..50).map(|i| format!("mk:{i}")).collect();
    let slots: std::collections::HashSet<u16> =
        keys.iter().map(|k| key_slot(k.as_bytes())).collect();
    assert!(slots.len() > 10, "keys must span many slots");

    let mut mset = cmd("MSET");
    for k in &keys {
        mset = mset.arg(k).arg(format!("{k}=v"));
    }
    assert_eq!(
        client.execute(mset).await.expect("MSET"),
        Value::Simple("OK".into())
    );

    let mut mget = cmd("MGET");
    for k in &keys {
        mget = mget.arg(k);
    }
    mget = mget.arg("mk:absent");
    let Value::Array(items) = client.execute(mget).await.expect("MGET") else {
        panic!("MGET shape")
    };
    assert_eq!(items.len(), keys.len() + 1);
    for (k, v) in keys.iter().zip(&items) {
        assert_eq!(v, &bulk(&format!("{k}=v")));
    }
    assert_eq!(items[keys.len()], Value::Nil);

    let exists = client
        .execute(
            cmd("EXISTS")
                .arg("mk:1")
                .arg("mk:2")
                .arg("mk:1")
                .arg("nope"),
        )
        .await
        .expect("EXISTS");
    assert_eq!(exists, Value::Int(3));
    let touched = client
        .execute(cmd("TOUCH").arg("mk:3").arg("mk:4"))
        .await
        .expect("TOUCH");
    assert_eq!(touched, Value::Int(2));
    let mut del = cmd("DEL");
    for k in &keys[..25] {
        del = del.arg(k);
    }
    assert_eq!(client.execute(del).await.expect("DEL"), Value::Int(25));
    let mut unlink = cmd("UNLINK");
    for k in &keys[25..] {
        unlink = unlink.arg(k);
    }
    unlink = unlink.arg("mk:absent");
    assert_eq!(
        client.execute(unlink).await.expect("UNLINK"),
        Value::Int(25)
    );

    // A cross-slot command that cannot be split gets the server's CROSSSLOT error untouched.
    let err = client
        .execute(cmd("SUNIONSTORE").arg("a").arg("b").arg("c"))
        .await
        .expect_err("CROSSSLOT");
    assert_eq!(err.kind(), ErrorKind::CrossSlot, "{err}");
    assert!(err.message().starts_with("CROSSSLOT"), "{err}");
    // Same slot via hash tags works as one command.
    client
        .execute(cmd("SADD").arg("{t}a").arg("x"))
        .await
        .expect("SADD");
    client
        .execute(cmd("SADD").arg("{t}b").arg("y"))
        .await
        .expect("SADD");
    let n = client
        .execute(cmd("SUNIONSTORE").arg("{t}c").arg("{t}a").arg("{t}b"))
        .await
        .expect("SUNIONSTORE");
    assert_eq!(n, Value::Int(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_across_slots_returns_replies_in_order() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let mut p = client.pipeline();
    for i in 0..300 {
        p.add(cmd("SET").arg(format!("p:{i}")).arg(i));
        p.add(cmd("INCR").arg(format!("p:{i}")));
    }
    p.add(cmd("LPUSH").arg("p:0").arg("x")); // WRONGTYPE: a final error in its own place
    p.add(cmd("MGET").arg("p:1").arg("p:2").arg("p:3"));
    let replies = p.execute().await;
    assert_eq!(replies.len(), 602);
    for i in 0..300 {
        assert_eq!(
            replies[2 * i].as_ref().expect("SET"),
            &Value::Simple("OK".into())
        );
        assert_eq!(
            replies[2 * i + 1].as_ref().expect("INCR"),
            &Value::Int(i as i64 + 1)
        );
    }
    let e = replies[600].as_ref().expect_err("WRONGTYPE");
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.message().starts_with("WRONGTYPE"));
    assert_eq!(
        replies[601].as_ref().expect("MGET"),
        &Value::Array(vec![bulk("2"), bulk("3"), bulk("4")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_commands_fan_out_and_merge() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    for i in 0..30 {
        client
            .execute(cmd("SET").arg(format!("fan:{i}")).arg(i))
            .await
            .expect("SET");
    }
    assert_eq!(
        client.execute(cmd("DBSIZE")).await.expect("DBSIZE"),
        Value::Int(30)
    );
    let Value::Array(keys) = client
        .execute(cmd("KEYS").arg("fan:*"))
        .await
        .expect("KEYS")
    else {
        panic!()
    };
    assert_eq!(keys.len(), 30);
    assert_eq!(
        client.execute(cmd("PING")).await.expect("PING"),
        Value::Simple("PONG".into())
    );
    let sha = client
        .execute(cmd("SCRIPT").arg("LOAD").arg("return 1"))
        .await
        .expect("SCRIPT LOAD");
    let exists = client
        .execute(
            cmd("SCRIPT")
                .arg("EXISTS")
                .arg(sha.as_str().expect("sha"))
                .arg("0000"),
        )
        .await;
    assert_eq!(
        exists.expect("SCRIPT EXISTS"),
        Value::Array(vec![Value::Int(1), Value::Int(0)])
    );
    assert_eq!(
        client.execute(cmd("FLUSHALL")).await.expect("FLUSHALL"),
        Value::Simple("OK".into())
    );
    assert_eq!(
        client.execute(cmd("DBSIZE")).await.expect("DBSIZE"),
        Value::Int(0)
    );
    let err = client
        .execute(cmd("SUBSCRIBE").arg("ch"))
        .await
        .expect_err("unsupported");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// Moves one slot between primaries by hand while a workload runs on keys of that slot: ASK
/// during the migration, MOVED after it, zero failed or wrong operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_migration_under_load_follows_ask_then_moved() {
    let d = Deployment::cluster(3, 0);
    let client = Arc::new(Client::cluster(&d.seeds, opts()).await.expect("connect"));
    let tag = "{mig}";
    let slot = key_slot(tag.as_bytes());
    let topo = client.topology();
    let src_addr = topo
        .shard_for_slot(slot)
        .expect("owner")
        .primary
        .addr
        .to_string();
    let src = d
        .nodes
        .iter()
        .find(|n| n.addr() == src_addr)
        .expect("src node");
    let dst = d
        .nodes
        .iter()
        .find(|n| n.addr() != src_addr)
        .expect("dst node");

    // Keys of the slot exist before the move, so some are migrated while being used.
    for i in 0..200 {
        client
            .execute(cmd("SET").arg(format!("{tag}:{i}")).arg(0))
            .await
            .expect("seed");
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, stop, ops) = (client.clone(), stop.clone(), ops.clone());
        workers.push(tokio::spawn(async move {
            let mut expected: HashMap<String, i64> = HashMap::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("{tag}:{}", (i * 8 + w) % 200);
                let want = expected.get(&key).copied().unwrap_or(0) + 1;
                // Each worker owns the keys ≡ w mod 8, so it knows every value.
                let got = client
                    .execute(cmd("INCR").arg(&key))
                    .await
                    .map_err(|e| format!("INCR {key}: {e}"))?;
                if got != Value::Int(want) {
                    return Err(format!("INCR {key}: got {got:?}, want {want}"));
                }
                expected.insert(key.clone(), want);
                let read = client
                    .execute(cmd("GET").arg(&key))
                    .await
                    .map_err(|e| format!("GET {key}: {e}"))?;
                if read.as_int() != Some(want) {
                    return Err(format!("GET {key}: got {read:?}, want {want}"));
                }
                ops.fetch_add(2, Ordering::Relaxed);
                i += 1;
            }
            Ok::<_, String>(())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_asking = asking_calls(&d, dst.index);
    let s = slot.to_string();
    let src_i = src.index;
    let dst_i = dst.index;
    let (src_id, dst_id) = (src.id.clone(), dst.id.clone());
    let migrate = {
        let d = &d;
        move || {
            d.cli(dst_i, &["CLUSTER", "SETSLOT", &s, "IMPORTING", &src_id]);
            d.cli(src_i, &["CLUSTER", "SETSLOT", &s, "MIGRATING", &dst_id]);
            // Move the keys a few at a time, with pauses, so requests meet the half-moved slot.
            loop {
                let keys = d.cli(src_i, &["CLUSTER", "GETKEYSINSLOT", &s, "10"]);
                let keys: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
                if keys.is_empty() {
                    break;
                }
                let dst_node = &d.nodes[dst_i];
                let port = dst_node.port.to_string();
                let mut args = vec![
                    "MIGRATE",
                    dst_node.host.as_str(),
                    port.as_str(),
                    "",
                    "0",
                    "5000",
                    "KEYS",
                ];
                args.extend(keys);
                d.cli(src_i, &args);
                std::thread::sleep(Duration::from_millis(30));
            }
            // Destination first, then source, then the rest (the order Redis documents).
            let mut order = vec![dst_i, src_i];
            order.extend((0..d.nodes.len()).filter(|i| *i != dst_i && *i != src_i));
            for i in order {
                d.cli(i, &["CLUSTER", "SETSLOT", &s, "NODE", &dst_id]);
            }
        }
    };
    tokio::task::block_in_place(migrate);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await
            .expect("join")
            .expect("worker saw a failed or wrong operation");
    }
    assert!(ops.load(Ordering::Relaxed) > 100, "workload made progress");
    assert!(
        asking_calls(&d, dst_i) > before_asking,
        "the client followed ASK redirects"
    );
    // After the move the client routes the slot to its new owner.
    client
        .execute(cmd("GET").arg(format!("{tag}:1")))
        .await
        .expect("GET after move");
    assert_eq!(
        client
            .topology()
            .shard_for_slot(slot)
            .expect("owner")
            .primary
            .addr
            .to_string(),
        d.nodes[dst_i].addr()
    );
}

fn asking_calls(d: &Deployment, i: usize) -> u64 {
    let stats = d.cli(i, &["INFO", "commandstats"]);
    stats
        .lines()
        .find(|l| l.starts_with("cmdstat_asking:"))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_seeds_fail_fast_with_a_clear_error() {
    let opts = Options::default().with_connect_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = Client::cluster(["127.0.0.1:1", "127.0.0.1:2"], opts)
        .await
        .expect_err("no cluster");
    assert_eq!(err.kind(), ErrorKind::Topology, "{err}");
    assert!(
        err.message().contains("127.0.0.1:1") && err.message().contains("127.0.0.1:2"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = Client::cluster(Vec::<String>::new(), Options::default())
        .await
        .expect_err("no seeds");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = Client::cluster(["no-port-here"], Options::default())
        .await
        .expect_err("bad seed");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// A blocking command holds its connection while it blocks: it must get one of its own, or
/// every request to that node would wait behind it; its deadline covers the block it asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_do_not_stall_other_requests_and_keep_their_own_timeout() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let blocker = {
        let c = client.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("{b}:queue").arg(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    for i in 0..200 {
        // Same hash tag: the same node as the blocked BLPOP.
        client
            .execute(cmd("SET").arg(format!("{{b}}:k{i}")).arg(i))
            .await
            .expect("SET");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "requests waited behind the BLPOP: {took:?}"
    );
    assert_eq!(
        blocker
            .await
            .expect("join")
            .expect("BLPOP times out by itself"),
        Value::Nil
    );

    // BLPOP 0 waits until data arrives, past the client's request deadline.
    let short = Client::cluster(
        &d.seeds,
        Options::default().with_request_timeout(Duration::from_millis(500)),
    )
    .await
    .expect("connect");
    let waiter = {
        let c = short.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("{b}:q2").arg(0)).await })
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    short
        .execute(cmd("RPUSH").arg("{b}:q2").arg("x"))
        .await
        .expect("RPUSH");
    let got = waiter.await.expect("join").expect("BLPOP 0");
    assert_eq!(got, Value::Array(vec![bulk("{b}:q2"), bulk("x")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_walks_every_primary_and_finds_every_key() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let mut want = std::collections::HashSet::new();
    for i in 0..500 {
        let k = format!("scan:{i}");
        client
            .execute(cmd("SET").arg(&k).arg(i))
            .await
            .expect("SET");
        want.insert(k);
    }
    client
        .execute(cmd("SET").arg("other").arg(1))
        .await
        .expect("SET");
    let mut scan = client.scan(Some(b"scan:*"), Some(50));
    let mut got = std::collections::HashSet::new();
    let mut pages = 0;
    while let Some(page) = scan.next_page().await.expect("page") {
        pages += 1;
        for k in page {
            got.insert(k.as_str().expect("key").to_owned());
        }
    }
    assert_eq!(got, want, "every key once or more, nothing else");
    assert!(pages >= 3, "one node after the other: {pages} pages");
    assert!(scan.next_page().await.expect("done").is_none());
}
