//! TLS against real TLS-only servers (`--port 0 --tls-port`, client certificates required)
//! with certificates the harness makes: standalone, cluster (TLS cluster bus) and Sentinel
//! (sentinels and data nodes over TLS). Verification is on; a wrong CA, a wrong name, a
//! missing client certificate and plain TCP all fail with a clear error, never a hang.

mod support;
mod workload;

use std::time::{Duration, Instant};

use slotwise::{cmd, Client, Error, ErrorKind, Options, TlsOptions, Value};
use support::{wait_until, Deployment, TlsFiles};
use workload::{verify_acked, Workload};

fn opts(tls: TlsOptions) -> Options {
    Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_connect_timeout(Duration::from_secs(3))
        .with_tls(tls)
}

fn files(d: &Deployment) -> &TlsFiles {
    d.tls.as_ref().expect("deployment started with --tls")
}

async fn standalone_err(d: &Deployment, o: Options) -> Error {
    let started = Instant::now();
    let e = Client::standalone(&d.seeds[0], o)
        .await
        .expect_err("the connection must be refused");
    // A refused handshake must not wait for a timeout.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}: {e}",
        started.elapsed()
    );
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_over_verified_tls_with_client_certificate() {
    let d = Deployment::standalone_with(&["--tls"]);
    let t = files(&d);
    let client = Client::standalone(&d.seeds[0], opts(t.options()))
        .await
        .expect("TLS connect");
    client
        .execute(cmd("SET").arg("k").arg("v"))
        .await
        .expect("SET");
    let v = client.execute(cmd("GET").arg("k")).await.expect("GET");
    assert_eq!(v, Value::Bulk("v".into()));
    // Many requests share the one TLS connection (split reader/writer halves).
    let many = futures_util::future::join_all(
        (0..2000).map(|i| client.execute(cmd("ECHO").arg(format!("e{i}")))),
    )
    .await;
    for (i, r) in many.into_iter().enumerate() {
        assert_eq!(r.expect("ECHO"), Value::Bulk(format!("e{i}").into()));
    }
    // The server saw a TLS client: redis-cli (also over TLS) reads the connection count.
    let info = d.cli(0, &["INFO", "stats"]);
    assert!(info.contains("total_connections_received"), "{info}");
    // A name the certificate carries may be given instead of the host connected to.
    let named = Client::standalone(&d.seeds[0], opts(t.options().with_server_name("localhost")))
        .await
        .expect("TLS connect with server_name localhost");
    named.execute(cmd("PING")).await.expect("PING");
    client.close();
    named.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ca_wrong_name_no_client_cert_and_plain_tcp_fail_clearly() {
    let d = Deployment::standalone_with(&["--tls"]);
    let t = files(&d);

    let wrong_ca = TlsOptions::default()
        .with_ca_file(&t.untrusted_ca)
        .with_client_cert(&t.cert, &t.key);
    let e = standalone_err(&d, opts(wrong_ca)).await;
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("TLS handshake failed") && msg.contains("certificate"),
        "wrong CA: {msg}"
    );
    assert!(msg.contains(&d.seeds[0]), "names the node: {msg}");

    let wrong_name = t.options().with_server_name("wrong.slotwise.invalid");
    let e = standalone_err(&d, opts(wrong_name)).await;
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("TLS handshake failed") && msg.contains("not valid for name"),
        "wrong name: {msg}"
    );

    // The server asks for a client certificate (tls-auth-clients yes).
    let no_cert = TlsOptions::default().with_ca_file(&t.ca);
    let e = standalone_err(&d, opts(no_cert)).await;
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");

    // Plain RESP to a TLS port: the server drops it; no hang, no garbage decoded.
    let plain = Options::default().with_connect_timeout(Duration::from_secs(3));
    let e = standalone_err(&d, plain).await;
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");

    // Bad files fail when the client is made, naming the option.
    let missing = TlsOptions::default().with_ca_file("/nonexistent/ca.pem");
    let e = Client::standalone(&d.seeds[0], opts(missing))
        .await
        .expect_err("missing CA file");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("ca_file"), "{e}");
    let mut half = t.options();
    half.client_key_file = None;
    let e = Client::standalone(&d.seeds[0], opts(half))
        .await
        .expect_err("cert without key");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let bad_name = t.options().with_server_name("not a name");
    let e = Client::standalone(&d.seeds[0], opts(bad_name))
        .await
        .expect_err("bad server_name");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // The loudly named escape hatch accepts the untrusted chain (client cert still shown).
    let skip = TlsOptions::default()
        .with_ca_file(&t.untrusted_ca)
        .with_client_cert(&t.cert, &t.key)
        .with_insecure_skip_verify(true);
    let c = Client::standalone(&d.seeds[0], opts(skip))
        .await
        .expect("insecure_skip_verify connects");
    c.execute(cmd("PING")).await.expect("PING");
    c.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_over_tls_routes_every_shard_and_follows_a_failover() {
    let d = Deployment::cluster_with(3, 1, &["--tls"]);
    let t = files(&d).clone();
    let client = Client::cluster(&d.seeds, opts(t.options()))
        .await
        .expect("TLS cluster connect");
    // The topology names the TLS ports (CLUSTER SHARDS lists them as tls-port).
    let topo = client.topology();
    let primaries: Vec<String> = topo.primaries().map(|n| n.addr.to_string()).collect();
    assert_eq!(primaries.len(), 3, "{topo:?}");
    for p in &primaries {
        assert!(d.seeds.contains(p), "{p} is not a node's TLS address");
    }
    let work = Workload::start(&client, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Kill one primary: its replica takes over, and the client must reach it over TLS.
    let victim = d.primaries()[0].index;
    let victim_addr = d.node(victim).addr();
    d.signal(victim, "KILL");
    let t0 = Instant::now();
    wait_until("a replica is promoted", Duration::from_secs(30), || {
        client
            .topology()
            .primaries()
            .all(|n| n.addr.to_string() != victim_addr)
    });
    let healed = Instant::now();
    // Serve for a while after the failover, then stop.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        work.served_since(healed),
        "no request served after the failover"
    );
    let report = work.stop().await;
    eprintln!(
        "tls failover followed in {:?}; {} ops, {} failures",
        healed - t0,
        report.ops,
        report.failures.len()
    );
    report.assert_no_wrong_answers();
    // Writes in flight to the killed node may fail as "may have run"; nothing else may.
    for (_, what, e) in &report.failures {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Io | ErrorKind::Timeout | ErrorKind::Connect
            ),
            "{what}: {e}"
        );
    }
    let lost = verify_acked(&client, &report).await;
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    client.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_and_its_master_over_tls() {
    let d = Deployment::sentinel_with(1, 3, &["--tls"]);
    let t = files(&d);
    let service = d.service.clone().expect("service");
    let client = Client::sentinel(&d.seeds, &service, opts(t.options()))
        .await
        .expect("TLS sentinel connect");
    let master = client
        .topology()
        .primaries()
        .next()
        .map(|n| n.addr.to_string());
    assert_eq!(master.as_deref(), Some(d.node(0).addr().as_str()));
    client
        .execute(cmd("SET").arg("k").arg("1"))
        .await
        .expect("SET");
    // A failover ordered through a sentinel (over TLS): the client follows to the replica.
    let sentinel = d.nodes.iter().position(|n| n.role == "sentinel").unwrap();
    let out = d.cli(sentinel, &["SENTINEL", "FAILOVER", &service]);
    assert_eq!(out, "OK", "SENTINEL FAILOVER: {out}");
    let new_master = d.node(1).addr();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now_master = client
            .topology()
            .primaries()
            .next()
            .map(|n| n.addr.to_string());
        if now_master.as_deref() == Some(new_master.as_str()) {
            if let Ok(v) = client.execute(cmd("INCR").arg("k")).await {
                assert!(v.as_int().unwrap_or(0) >= 2, "{v:?}");
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "client never moved to {new_master}: {now_master:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Wrong CA towards the sentinels: a clear error naming a sentinel, not a hang.
    let wrong = TlsOptions::default()
        .with_ca_file(&t.untrusted_ca)
        .with_client_cert(&t.cert, &t.key);
    let e = Client::sentinel(&d.seeds, &service, opts(wrong))
        .await
        .expect_err("untrusted sentinels");
    assert!(e.to_string().contains("certificate"), "{e}");
    client.close();
}
