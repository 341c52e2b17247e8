//! MULTI/EXEC and WATCH on one slot, against a real cluster: results, WATCH failures,
//! EXECABORT, a slot moved under a transaction, and transactions cut by a failover.

mod admin;
mod support;

use std::time::Duration;

use slotwise::{cmd, Client, ErrorKind, Options, Outcome, Value};
use support::Deployment;

fn opts() -> Options {
    // No periodic refresh: the tests decide when the client's view goes stale.
    Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_refresh_interval(Duration::from_secs(3600))
}

fn int(v: &Value) -> i64 {
    v.as_int().unwrap_or_else(|| panic!("not an int: {v:?}"))
}

async fn get(client: &Client, key: &str) -> Value {
    client.execute(cmd("GET").arg(key)).await.expect("GET")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_exec_watch_and_execabort_on_one_slot() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");

    // Results in order; a command failing inside EXEC has its error in its place.
    client
        .execute(cmd("SET").arg("{t}.s").arg("text"))
        .await
        .expect("SET");
    let mut tx = client.transaction();
    tx.add(cmd("INCR").arg("{t}.a")).expect("add");
    tx.add(cmd("INCR").arg("{t}.s")).expect("add");
    tx.add(cmd("INCRBY").arg("{t}.a").arg(10)).expect("add");
    let replies = tx.execute().await.expect("EXEC").expect("not aborted");
    assert_eq!(replies.len(), 3);
    assert_eq!(int(&replies[0]), 1);
    assert!(replies[1].is_error(), "INCR on text fails inside EXEC");
    assert_eq!(int(&replies[2]), 11);

    // Keys of another slot are refused before anything is sent.
    let mut tx = client.transaction();
    tx.add(cmd("SET").arg("{t}.a").arg(1)).expect("add");
    let e = tx
        .add(cmd("SET").arg("{u}.a").arg(1))
        .expect_err("cross slot");
    assert_eq!(e.kind(), ErrorKind::CrossSlot);
    assert_eq!(e.outcome(), Outcome::NotRun);
    let e = tx.add(cmd("MULTI")).expect_err("nested MULTI");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let mut tx = client.transaction();
    let e = tx
        .watch(&["{t}.a", "{v}.b"])
        .await
        .expect_err("cross slot WATCH");
    assert_eq!(e.kind(), ErrorKind::CrossSlot);

    // WATCH: a watched key changed by someone else -> EXEC applies nothing, reported as None.
    let mut tx = client.transaction();
    tx.watch(&["{t}.a"]).await.expect("WATCH");
    let seen = tx.query(cmd("GET").arg("{t}.a")).await.expect("GET");
    assert_eq!(seen, Value::Bulk("11".into()));
    client
        .execute(cmd("SET").arg("{t}.a").arg(500))
        .await
        .expect("someone else writes");
    tx.add(cmd("SET").arg("{t}.a").arg(12)).expect("add");
    tx.add(cmd("SET").arg("{t}.other").arg(1)).expect("add");
    assert_eq!(tx.execute().await.expect("EXEC"), None, "WATCH failed");
    assert_eq!(get(&client, "{t}.a").await, Value::Bulk("500".into()));
    assert_eq!(get(&client, "{t}.other").await, Value::Nil);

    // An untouched watched key lets EXEC run.
    let mut tx = client.transaction();
    tx.watch(&["{t}.a"]).await.expect("WATCH");
    tx.add(cmd("INCR").arg("{t}.a")).expect("add");
    let replies = tx.execute().await.expect("EXEC").expect("ran");
    assert_eq!(replies, vec![Value::Int(501)]);

    // EXECABORT: a command refused while queueing discards the whole transaction.
    let mut tx = client.transaction();
    tx.add(cmd("INCR").arg("{t}.a")).expect("add");
    tx.add(cmd("SET").arg("{t}.a")).expect("add"); // wrong arity
    let e = tx.execute().await.expect_err("EXECABORT");
    assert_eq!(e.kind(), ErrorKind::ExecAbort, "{e}");
    assert_eq!(e.outcome(), Outcome::NotRun);
    assert!(e.message().contains("wrong number of arguments"), "{e}");
    assert_eq!(get(&client, "{t}.a").await, Value::Bulk("501".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_moved_under_a_transaction() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let tag = "{m}";
    let slot = slotwise::slot::key_slot(b"m");
    let (from, _) = admin::shard_of(&d, &client, tag);
    let to = d
        .primaries()
        .iter()
        .map(|n| n.index)
        .find(|&i| i != from)
        .expect("another primary");
    client
        .execute(cmd("SET").arg("{m}.n").arg(0))
        .await
        .expect("SET");

    // WATCH on the old owner, then the slot moves: the transaction is refused, not resent
    // elsewhere (the watch cannot follow), and nothing is applied.
    let mut tx = client.transaction();
    tx.watch(&["{m}.n"]).await.expect("WATCH");
    tokio::task::block_in_place(|| admin::migrate_slots(&d, from, to, &[slot]));
    tx.add(cmd("INCR").arg("{m}.n")).expect("add");
    let e = tx.execute().await.expect_err("refused after the move");
    assert_eq!(e.outcome(), Outcome::NotRun, "{e}");
    assert!(e.message().contains("MOVED"), "{e}");
    assert_eq!(get(&client, "{m}.n").await, Value::Bulk("0".into()));

    // Without WATCH, the stale view sends it to the old owner: MOVED while queueing, EXECABORT,
    // so it certainly did not run and is sent again to the new owner -- applied exactly once.
    tokio::task::block_in_place(|| admin::migrate_slots(&d, to, from, &[slot]));
    let moved_before = client.metrics().moved_redirects;
    let mut tx = client.transaction();
    tx.add(cmd("INCR").arg("{m}.n")).expect("add");
    tx.add(cmd("INCR").arg("{m}.n")).expect("add");
    let replies = tx.execute().await.expect("EXEC").expect("ran");
    assert_eq!(replies, vec![Value::Int(1), Value::Int(2)]);
    assert!(
        client.metrics().moved_redirects > moved_before,
        "the transaction met MOVED and followed it"
    );
    assert_eq!(get(&client, "{m}.n").await, Value::Bulk("2".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cut_by_a_failover_is_never_half_applied_or_resent() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let (p, r) = admin::shard_of(&d, &client, "f");
    let r = r.expect("a replica");
    client
        .execute(cmd("SET").arg("{f}.k").arg("before"))
        .await
        .expect("SET");

    // A graceful failover between WATCH and EXEC: the transaction fails, nothing applied.
    let mut tx = client.transaction();
    tx.watch(&["{f}.k"]).await.expect("WATCH");
    d.graceful_failover(r);
    admin::wait_promoted(&d, r, Duration::from_secs(15)).await;
    tx.add(cmd("SET").arg("{f}.k").arg("by-tx")).expect("add");
    tx.add(cmd("SET").arg("{f}.k2").arg("by-tx")).expect("add");
    let e = tx.execute().await.expect_err("cut by the failover");
    assert_eq!(e.outcome(), Outcome::NotRun, "{e}");
    let mut new_primary = admin::node(&d, r);
    assert_eq!(new_primary.call(&["GET", "{f}.k"]).text(), "before");
    assert_eq!(new_primary.call(&["GET", "{f}.k2"]).text(), "");

    // The next transaction reaches the new primary.
    let mut tx = client.transaction();
    tx.add(cmd("SET").arg("{f}.k").arg("after")).expect("add");
    tx.add(cmd("INCR").arg("{f}.n")).expect("add");
    let replies = tx.execute().await.expect("EXEC").expect("ran");
    assert_eq!(replies[1], Value::Int(1));
    assert_eq!(new_primary.call(&["GET", "{f}.k"]).text(), "after");

    // The primary stops answering with a transaction written to it, and its replica takes
    // over: the outcome is unknown, so the error says it may have run and it is not resent.
    let short = Client::cluster(
        &d.seeds,
        opts().with_request_timeout(Duration::from_secs(2)),
    )
    .await
    .expect("connect");
    let mut tx = short.transaction();
    // A read opens the held connection while the node still answers.
    tx.query(cmd("GET").arg("{f}.n")).await.expect("GET");
    tx.add(cmd("INCR").arg("{f}.n")).expect("add");
    tx.add(cmd("INCR").arg("{f}.n2")).expect("add");
    d.signal(r, "STOP");
    let e = tx.execute().await.expect_err("no answer");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.outcome(), Outcome::MayHaveRun, "{e}");
    d.cli(p, &["CLUSTER", "FAILOVER", "TAKEOVER"]);
    admin::wait_promoted(&d, p, Duration::from_secs(15)).await;
    d.signal(r, "CONT");
    // Whatever the paused node did with it, the transaction was applied at most once, and
    // both of its commands together or not at all.
    let mut node = admin::node(&d, p);
    let (a, b) = (
        node.call(&["GET", "{f}.n"]).text(),
        node.call(&["GET", "{f}.n2"]).text(),
    );
    assert!(
        (a == "1" && b.is_empty()) || (a == "2" && b == "1"),
        "applied at most once and whole: n={a:?} n2={b:?}"
    );
}
