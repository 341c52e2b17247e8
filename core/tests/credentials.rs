//! ACL credentials: rotating the password on a live client without dropping requests, and
//! secrets never showing in errors, `Debug` output or events. Real servers with ACL users.

mod support;
mod workload;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slotwise::{cmd, Client, Error, ErrorKind, Options, Protocol};
use support::{wait_until, Deployment};

const OLD: &str = "old-Secret-1f9c";
const NEW: &str = "new-Secret-77ab";

fn opts() -> Options {
    Options::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_probe_interval(Duration::from_millis(100))
}

fn assert_secret_free(what: &str, text: &str) {
    for secret in [OLD, NEW] {
        assert!(!text.contains(secret), "{what} shows a password: {text}");
    }
}

/// Collects the `Debug` form of every event the client emits.
fn record_events(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = client.events();
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok(e) = rx.recv().await {
            out.lock().unwrap().push(format!("{e:?}"));
        }
    });
    seen
}

#[derive(Default)]
struct Counts {
    reads_ok: AtomicU64,
    writes_ok: AtomicU64,
    read_failures: Mutex<Vec<Error>>,
    write_failures: Mutex<Vec<Error>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_rotation_on_a_live_client_drops_no_request() {
    let d = Deployment::cluster_with(3, 0, &["--user", &format!("app:{OLD}")]);
    let client = Client::cluster(&d.seeds, opts().with_auth(Some("app"), OLD))
        .await
        .expect("connect as app");
    let events = record_events(&client);
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let mut tasks = Vec::new();
    // Workers on every shard, so every node's connection is in use when it is cut.
    let tags = workload::tags_per_shard(&client);
    for w in 0..8 {
        let (client, stop, counts) = (client.clone(), stop.clone(), counts.clone());
        let key = format!("{{{}}}:w{w}", tags[w % tags.len()]);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client.execute(cmd("INCR").arg(&key)).await {
                    Ok(_) => counts.writes_ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        counts.write_failures.lock().unwrap().push(e);
                        continue;
                    }
                };
                match client.execute(cmd("GET").arg(&key)).await {
                    Ok(_) => counts.reads_ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        counts.read_failures.lock().unwrap().push(e);
                        continue;
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Rotation as an operator does it: add the new password, switch the client, remove the
    // old one, then cut every connection of the user so all of them re-authenticate.
    let nodes: Vec<usize> = d.nodes.iter().map(|n| n.index).collect();
    for &i in &nodes {
        assert_eq!(
            d.cli(i, &["ACL", "SETUSER", "app", &format!(">{NEW}")]),
            "OK"
        );
    }
    client
        .update_credentials(Some("app"), NEW)
        .expect("update_credentials");
    for &i in &nodes {
        assert_eq!(
            d.cli(i, &["ACL", "SETUSER", "app", &format!("<{OLD}")]),
            "OK"
        );
    }
    let reads_before = counts.reads_ok.load(Ordering::Relaxed);
    let mut killed = 0;
    for &i in &nodes {
        killed += d
            .cli(i, &["CLIENT", "KILL", "USER", "app"])
            .parse::<u64>()
            .expect("CLIENT KILL count");
    }
    assert!(killed >= 3, "killed only {killed} connections");
    // Connections of `app` after the kill were authenticated with the new password (the old
    // one was gone); every node must have one again, while the workers keep being served.
    wait_until(
        "reconnected with the new password",
        Duration::from_secs(10),
        || {
            counts.reads_ok.load(Ordering::Relaxed) > reads_before + 100
                && nodes
                    .iter()
                    .all(|&i| d.cli(i, &["CLIENT", "LIST"]).contains(" user=app "))
        },
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("worker");
    }
    let reads_failed = std::mem::take(&mut *counts.read_failures.lock().unwrap());
    let writes_failed = std::mem::take(&mut *counts.write_failures.lock().unwrap());
    eprintln!(
        "rotation: {killed} connections killed; {} reads ok, {} failed; {} writes ok, {} failed",
        counts.reads_ok.load(Ordering::Relaxed),
        reads_failed.len(),
        counts.writes_ok.load(Ordering::Relaxed),
        writes_failed.len()
    );
    // Reads are retried on a new connection, authenticated with the new password.
    assert!(reads_failed.is_empty(), "reads failed: {reads_failed:#?}");
    // A write cut in flight by the kill may have run, so it is reported, never resent; every
    // other write succeeded (no authentication failure).
    for e in writes_failed.iter() {
        assert!(e.may_have_run() && e.kind() == ErrorKind::Io, "{e}");
    }
    // The old password no longer opens connections.
    let e = Client::cluster(&d.seeds, opts().with_auth(Some("app"), OLD))
        .await
        .expect_err("old password");
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert_secret_free("error", &format!("{e} {e:?}"));
    for ev in events.lock().unwrap().iter() {
        assert_secret_free("event", ev);
    }
    assert_secret_free("client Debug", &format!("{client:?}"));
    client.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_auth_and_debug_output_never_show_passwords() {
    let d = Deployment::standalone_with(&["--user", &format!("app:{NEW}")]);
    for protocol in [Protocol::Resp3, Protocol::Resp2] {
        // (The default user has no password here: any AUTH would pass.)
        for user in [Some("app"), Some("nobody")] {
            let o = opts()
                .with_protocol(protocol)
                .with_auth(user, OLD)
                .with_sentinel_auth(Some("s"), NEW);
            assert_secret_free("Options Debug", &format!("{o:?}"));
            let e = Client::standalone(&d.seeds[0], o)
                .await
                .expect_err("wrong password");
            assert_eq!(e.kind(), ErrorKind::Auth, "{protocol:?} {user:?}: {e}");
            assert!(e.to_string().contains("authentication failed"), "{e}");
            assert_secret_free("AUTH error", &format!("{e} {e:?}"));
        }
    }
    let client = Client::standalone(&d.seeds[0], opts().with_auth(Some("app"), NEW))
        .await
        .expect("right password");
    client.execute(cmd("PING")).await.expect("PING");
    assert_secret_free("client Debug", &format!("{client:?}"));
    // A rotation to a wrong password shows on the next connection, and without the secret.
    client
        .update_credentials(Some("app"), OLD)
        .expect("update_credentials");
    d.cli(0, &["CLIENT", "KILL", "USER", "app"]);
    let e = client
        .execute(cmd("SET").arg("k").arg("v"))
        .await
        .expect_err("wrong rotated password");
    assert_secret_free("error after rotation", &format!("{e} {e:?}"));
    client.close();
    assert_eq!(
        client
            .update_credentials(Some("app"), NEW)
            .expect_err("closed")
            .kind(),
        ErrorKind::Closed
    );
}
