//! The same client API on one real Redis server.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use slotwise::{cmd, Client, ErrorKind, Options, Protocol, Value};
use support::Deployment;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_commands_pipeline_and_multi_key() {
    let d = Deployment::standalone();
    let client = Client::standalone(&d.seeds[0], Options::default())
        .await
        .expect("connect");
    assert_eq!(
        client
            .execute(cmd("SET").arg("a").arg("1"))
            .await
            .expect("SET"),
        Value::Simple("OK".into())
    );
    // Multi-key commands are never split on one node.
    let v = client
        .execute(cmd("MGET").arg("a").arg("b"))
        .await
        .expect("MGET");
    assert_eq!(v, Value::Array(vec![Value::Bulk("1".into()), Value::Nil]));
    let mut p = client.pipeline();
    for i in 0..100 {
        p.add(cmd("INCR").arg("ctr"));
        p.add(cmd("SET").arg(format!("s:{i}")).arg(i));
    }
    let replies = p.execute().await;
    for i in 0..100 {
        assert_eq!(
            replies[2 * i].as_ref().expect("INCR"),
            &Value::Int(i as i64 + 1)
        );
    }
    let many = join_all((0..2000).map(|i| client.execute(cmd("ECHO").arg(format!("e{i}"))))).await;
    for (i, r) in many.into_iter().enumerate() {
        assert_eq!(r.expect("ECHO"), Value::Bulk(format!("e{i}").into()));
    }
    assert_eq!(
        client
            .execute(cmd("DBSIZE"))
            .await
            .expect("DBSIZE")
            .as_int(),
        Some(102)
    );
    client.close();
    let err = client.execute(cmd("PING")).await.expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp2_and_resp3_give_the_same_answers_and_select_works() {
    let d = Deployment::standalone();
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let opts = Options::default()
            .with_protocol(proto)
            .with_db(3)
            .with_client_name("slotwise-test");
        let client = Client::standalone(&d.seeds[0], opts)
            .await
            .expect("connect");
        client
            .execute(cmd("SET").arg("db3key").arg("x"))
            .await
            .expect("SET");
        let name = client
            .execute(cmd("CLIENT").arg("GETNAME"))
            .await
            .expect("GETNAME");
        assert_eq!(name.as_str(), Some("slotwise-test"));
    }
    // The key landed in db 3, not db 0.
    assert_eq!(d.cli(0, &["-n", "3", "GET", "db3key"]), "x");
    assert_eq!(d.cli(0, &["GET", "db3key"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_with_user_and_password() {
    let d = Deployment::standalone();
    d.cli(
        0,
        &["ACL", "SETUSER", "app", "on", ">s3cret-pass", "~*", "+@all"],
    );
    let ok = Options::default().with_auth(Some("app"), "s3cret-pass");
    let client = Client::standalone(&d.seeds[0], ok).await.expect("auth ok");
    assert_eq!(
        client
            .execute(cmd("ACL").arg("WHOAMI"))
            .await
            .expect("WHOAMI")
            .as_str(),
        Some("app")
    );
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let bad = Options::default()
            .with_auth(Some("app"), "wrong-pass")
            .with_protocol(proto);
        let err = Client::standalone(&d.seeds[0], bad)
            .await
            .expect_err("bad password");
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        assert!(
            !err.to_string().contains("wrong-pass"),
            "secret leaked: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_is_survived_and_in_flight_writes_say_they_may_have_run() {
    let mut d = Deployment::standalone();
    let opts = Options::default().with_request_timeout(Duration::from_secs(5));
    let client = Client::standalone(&d.seeds[0], opts)
        .await
        .expect("connect");
    client
        .execute(cmd("SET").arg("k").arg("1"))
        .await
        .expect("SET");
    // A write blocked on the server when it dies: the client cannot know whether it ran.
    let blocked = {
        let c = client.clone();
        tokio::spawn(async move { c.execute(cmd("BLPOP").arg("never").arg("0")).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    d.signal(0, "KILL");
    let err = blocked.await.expect("join").expect_err("connection lost");
    assert!(err.may_have_run(), "{err:?}");
    d.restart_node(0, None);
    // The next command reconnects by itself.
    let v = client
        .execute(cmd("PING"))
        .await
        .expect("PING after restart");
    assert_eq!(v, Value::Simple("PONG".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_gives_a_timeout_that_says_the_write_may_have_run() {
    let d = Deployment::standalone();
    let opts = Options::default().with_request_timeout(Duration::from_millis(300));
    let client = Client::standalone(&d.seeds[0], opts)
        .await
        .expect("connect");
    d.signal(0, "STOP");
    let started = std::time::Instant::now();
    let err = client
        .execute(cmd("SET").arg("k").arg("v"))
        .await
        .expect_err("hung");
    let took = started.elapsed();
    d.signal(0, "CONT");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert!(err.may_have_run(), "written but unanswered: {err:?}");
    assert!(took < Duration::from_secs(2), "deadline honoured: {took:?}");
    // Once the server wakes up the same client works again.
    let v = client.execute(cmd("GET").arg("k")).await;
    assert!(v.is_ok(), "{v:?}");
}
