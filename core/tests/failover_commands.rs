//! Commands with state on one node, across a failover, against a real cluster: a script the
//! new primary never saw (NOSCRIPT), functions routed by key, and a BLPOP blocked on the
//! primary that is demoted.

mod admin;
mod support;

use std::time::{Duration, Instant};

use slotwise::{cmd, Client, ErrorKind, Options, Outcome, Script, Value};
use support::Deployment;

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_secs(10))
}

fn script_exists(d: &Deployment, i: usize, sha: &str) -> bool {
    admin::node(d, i).call(&["SCRIPT", "EXISTS", sha]).text() == "1"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noscript_after_a_failover_loads_the_script_on_the_new_primary() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let incr = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    let (p, r) = admin::shard_of(&d, &client, "s");
    let r = r.expect("a replica");

    // First call: the primary answers NOSCRIPT, gets the script, runs it.
    assert!(!script_exists(&d, p, incr.sha()));
    let v = client
        .run_script(&incr, &["{s}.n"], &["5"])
        .await
        .expect("script");
    assert_eq!(v, Value::Int(5));
    assert!(script_exists(&d, p, incr.sha()));
    assert_eq!(admin::cmdstat_calls(&d, p, "script|load"), 1);

    // Scripts are not replicated: the replica that takes over does not have it.
    d.graceful_failover(r);
    admin::wait_promoted(&d, r, Duration::from_secs(15)).await;
    assert!(
        !script_exists(&d, r, incr.sha()),
        "the new primary lacks it"
    );
    let incrby_before = admin::cmdstat_calls(&d, r, "incrby");
    let v = client
        .run_script(&incr, &["{s}.n"], &["2"])
        .await
        .expect("script after failover");
    assert_eq!(v, Value::Int(7), "ran once on the new primary");
    assert!(script_exists(&d, r, incr.sha()));
    assert_eq!(admin::cmdstat_calls(&d, r, "script|load"), 1);
    assert_eq!(
        admin::cmdstat_calls(&d, r, "incrby"),
        incrby_before + 1,
        "INCRBY ran once"
    );

    // A script error is the script's answer, not a reason to load again.
    let bad = Script::new("return redis.call('NOPE')");
    let e = client
        .run_script(&bad, &["{s}.n"], &[] as &[&str])
        .await
        .expect_err("script error");
    assert_eq!(e.kind(), ErrorKind::Server, "{e}");
    assert_eq!(admin::cmdstat_calls(&d, r, "script|load"), 2);

    // Functions are replicated with the data; FCALL goes to the owner of its keys.
    client
        .execute(cmd("FUNCTION").arg("LOAD").arg(
            "#!lua name=tlib\nredis.register_function('tset', function(keys, args) \
             return redis.call('SET', keys[1], args[1]) end)",
        ))
        .await
        .expect("FUNCTION LOAD");
    // MOVED after the failover patched one slot; the rest of the shard follows on a refresh.
    client.refresh_topology().await.expect("refresh");
    let moved = client.metrics().moved_redirects;
    for tag in ["a", "b", "c", "d", "e", "f"] {
        let key = format!("{{{tag}}}.fn");
        let v = client
            .execute(cmd("FCALL").arg("tset").arg(1).arg(&key).arg(tag))
            .await
            .expect("FCALL");
        assert_eq!(v, Value::Simple("OK".into()));
        assert_eq!(
            client.execute(cmd("GET").arg(&key)).await.expect("GET"),
            Value::Bulk(tag.to_string().into())
        );
    }
    assert_eq!(client.metrics().moved_redirects, moved, "routed by key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blpop_held_across_a_failover_is_reissued_on_the_new_primary() {
    let d = Deployment::cluster(3, 1);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let (p, r) = admin::shard_of(&d, &client, "q");
    let r = r.expect("a replica");

    let waiter = {
        let c = client.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("{q}.jobs").arg(0)).await })
    };
    support::wait_until(
        "BLPOP blocks on the primary",
        Duration::from_secs(10),
        || {
            admin::node(&d, p)
                .call(&["INFO", "clients"])
                .text()
                .contains("blocked_clients:1")
        },
    );
    // Other requests to the same node do not wait behind it.
    let t0 = Instant::now();
    client
        .execute(cmd("SET").arg("{q}.other").arg(1))
        .await
        .expect("SET");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());

    // The primary is demoted while the BLPOP waits: Redis releases it with UNBLOCKED (it took
    // nothing), and the client blocks again on the new primary.
    d.graceful_failover(r);
    admin::wait_promoted(&d, r, Duration::from_secs(15)).await;
    support::wait_until(
        "BLPOP blocks again on the new primary",
        Duration::from_secs(15),
        || {
            admin::node(&d, r)
                .call(&["INFO", "clients"])
                .text()
                .contains("blocked_clients:1")
        },
    );
    assert!(!waiter.is_finished(), "still waiting for data");
    client
        .execute(cmd("RPUSH").arg("{q}.jobs").arg("job-1"))
        .await
        .expect("RPUSH");
    let got = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("BLPOP answers")
        .expect("join")
        .expect("BLPOP");
    assert_eq!(
        got,
        Value::Array(vec![
            Value::Bulk("{q}.jobs".into()),
            Value::Bulk("job-1".into())
        ])
    );
    assert_eq!(
        client
            .execute(cmd("LLEN").arg("{q}.jobs"))
            .await
            .expect("LLEN"),
        Value::Int(0)
    );

    // A connection cut while a BLPOP blocks is not certain: it may have popped an element
    // whose reply was lost, so it is not resent and says it may have run.
    let waiter = {
        let c = client.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("{q}.jobs").arg(0)).await })
    };
    support::wait_until("BLPOP blocks", Duration::from_secs(10), || {
        admin::node(&d, r)
            .call(&["INFO", "clients"])
            .text()
            .contains("blocked_clients:1")
    });
    admin::node(&d, r).call(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    let e = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("answers")
        .expect("join")
        .expect_err("cut");
    assert_eq!(e.outcome(), Outcome::MayHaveRun, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blpop_whose_slot_moves_follows_the_moved_reply() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, opts()).await.expect("connect");
    let (from, _) = admin::shard_of(&d, &client, "mv");
    let to = d
        .primaries()
        .iter()
        .map(|n| n.index)
        .find(|&i| i != from)
        .expect("another primary");
    let blocked = |i: usize| {
        admin::node(&d, i)
            .call(&["INFO", "clients"])
            .text()
            .contains("blocked_clients:1")
    };
    let waiter = {
        let c = client.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("{mv}.q").arg(30)).await })
    };
    support::wait_until("BLPOP blocks", Duration::from_secs(10), || blocked(from));
    // The (empty) slot moves: Redis answers MOVED to the blocked client, which took nothing.
    let slot = slotwise::slot::key_slot(b"mv");
    tokio::task::block_in_place(|| admin::migrate_slots(&d, from, to, &[slot]));
    support::wait_until(
        "BLPOP blocks on the new owner",
        Duration::from_secs(15),
        || blocked(to),
    );
    client
        .execute(cmd("RPUSH").arg("{mv}.q").arg("x"))
        .await
        .expect("RPUSH");
    let got = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("answers")
        .expect("join")
        .expect("BLPOP");
    assert_eq!(
        got,
        Value::Array(vec![Value::Bulk("{mv}.q".into()), Value::Bulk("x".into())])
    );
}
