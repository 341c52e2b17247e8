//! What a real server cannot be made to do: malformed, cut, gigantic, unfinished, unsolicited
//! and interleaved replies, and a server that never answers. A scripted fake on loopback
//! (`fake/mod.rs`); each case must give a clear error in time, never a panic or a hang.
//! Topology-level hostility (MOVED loops, impossible slot maps) is in `hostile_cluster.rs`.

mod fake;

use std::time::{Duration, Instant};

use fake::{within, Act};
use slotwise::{cmd, Client, ErrorKind, Options, Value};

/// Every case must be over well within this, hang or not.
const LIMIT: Duration = Duration::from_secs(20);

fn opts() -> Options {
    Options::default().with_request_timeout(Duration::from_millis(500))
}

/// A standalone client on a fake that answers GET and SET with `reply`.
async fn one_command(c: slotwise::Cmd, reply: Act) -> slotwise::Result<Value> {
    let reply = std::sync::Mutex::new(Some(reply));
    let server = fake::spawn(move |name, _| match name {
        "GET" | "SET" => reply.lock().unwrap().take(),
        _ => None,
    })
    .await;
    within(LIMIT, async {
        let client = Client::standalone(&server.addr, opts())
            .await
            .expect("connect to fake");
        client.execute(c).await
    })
    .await
}

fn get() -> slotwise::Cmd {
    cmd("GET").arg("k")
}

fn send(b: &[u8]) -> Act {
    Act::Send(b.to_vec())
}

#[tokio::test]
async fn malformed_replies_are_protocol_errors() {
    for bad in [
        &b"@nonsense\r\n"[..],
        b":12x\r\n",
        b"$-5\r\n",
        b"*two\r\n",
        b"+OK\rX\n",
        b"$3\r\nabcXY",
        b"#x\r\n",
        b",1.2.3\r\n",
        b"%1\r\n+k\r\n@\r\n",
    ] {
        let e = one_command(get(), send(bad)).await.expect_err("malformed");
        assert_eq!(
            e.kind(),
            ErrorKind::Protocol,
            "{:?}: {e:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(e.may_have_run());
    }
}

#[tokio::test]
async fn absurd_sizes_are_refused_without_allocating_them() {
    // A bulk over 512 MiB, an aggregate over 16 Mi elements, nesting over 64 levels: each is
    // refused at its header, so nothing of that size is ever allocated.
    let deep = b"*1\r\n".repeat(100);
    for bad in [
        &b"$99999999999\r\n"[..],
        b"*99999999\r\n",
        b"%99999999\r\n",
        &deep,
    ] {
        let e = one_command(get(), send(bad))
            .await
            .expect_err("absurd size");
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    }
}

#[tokio::test]
async fn endless_number_line_is_refused_early() {
    // An integer line that never ends: refused after a few bytes, not buffered forever.
    let mut endless = b":".to_vec();
    endless.extend(std::iter::repeat_n(b'7', 1 << 20));
    let e = one_command(get(), Act::Send(endless))
        .await
        .expect_err("endless");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
}

#[tokio::test]
async fn gigantic_but_valid_reply_arrives_whole() {
    let size = 32 << 20;
    let mut big = format!("${size}\r\n").into_bytes();
    big.extend(std::iter::repeat_n(b'x', size));
    big.extend_from_slice(b"\r\n");
    let v = one_command(get(), Act::Send(big))
        .await
        .expect("32 MiB reply");
    let bytes = v.as_bytes().expect("bulk");
    assert_eq!(bytes.len(), size);
    assert!(bytes.iter().all(|b| *b == b'x'));
}

#[tokio::test]
async fn unfinished_reply_times_out_and_may_have_run() {
    let started = Instant::now();
    let e = one_command(get(), send(b"$10\r\nabc"))
        .await
        .expect_err("unfinished");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(e.may_have_run());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn reply_cut_by_a_closed_connection_fails_a_write_as_may_have_run() {
    let e = one_command(
        cmd("SET").arg("k").arg("v"),
        Act::SendAndClose(b"$10\r\nabc".to_vec()),
    )
    .await
    .expect_err("cut reply");
    assert_eq!(e.kind(), ErrorKind::Io, "{e:?}");
    assert!(e.may_have_run(), "the SET was written: it may have run");
}

#[tokio::test]
async fn silent_server_times_a_request_out_within_its_deadline() {
    let started = Instant::now();
    let e = one_command(get(), Act::Silent).await.expect_err("silence");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unsolicited_reply_closes_the_connection_and_is_never_returned() {
    // The server answers each GET correctly, then sends a reply nobody asked for. RESP has no
    // request ids, so the client cannot tell a reordered answer from a right one; what it can
    // and must do is refuse a reply with no request waiting: the connection is dropped and
    // the stray reply never reaches a caller.
    let server = fake::spawn(|name, args| match name {
        "GET" => {
            let key = String::from_utf8_lossy(&args[0]).to_string();
            Some(Act::Send(
                format!("{}+STRAY\r\n", fake::bulk(&key)).into_bytes(),
            ))
        }
        _ => None,
    })
    .await;
    within(LIMIT, async {
        let client = Client::standalone(&server.addr, opts())
            .await
            .expect("connect");
        for i in 0..20 {
            let key = format!("key-{i}");
            // The stray reply may close the connection under the next request: a read is
            // resent on a new connection, so every GET gets its own key back.
            let v = client.execute(cmd("GET").arg(&key)).await.expect("GET");
            assert_eq!(v.as_bytes(), Some(key.as_bytes()), "wrong reply for {key}");
        }
    })
    .await;
}

#[tokio::test]
async fn push_frames_between_replies_are_skipped() {
    // RESP3 out-of-band push frames (invalidations) before and between replies.
    let server = fake::spawn(|name, args| match name {
        "HELLO" => Some(Act::Send(b"%1\r\n+proto\r\n:3\r\n".to_vec())),
        "GET" => {
            let key = String::from_utf8_lossy(&args[0]).to_string();
            let push = ">2\r\n+invalidate\r\n*1\r\n$1\r\nx\r\n";
            Some(Act::Send(
                format!("{push}{push}{}", fake::bulk(&key)).into_bytes(),
            ))
        }
        _ => None,
    })
    .await;
    within(LIMIT, async {
        let client = Client::standalone(&server.addr, opts())
            .await
            .expect("connect");
        for key in ["a", "b", "c"] {
            let v = client.execute(cmd("GET").arg(key)).await.expect("GET");
            assert_eq!(v.as_bytes(), Some(key.as_bytes()));
        }
    })
    .await;
}

#[tokio::test]
async fn server_that_accepts_and_never_answers_fails_the_connect_in_time() {
    let server = fake::spawn(|_, _| Some(Act::Silent)).await;
    let opts = Options::default().with_connect_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let e = within(LIMIT, Client::standalone(&server.addr, opts))
        .await
        .expect_err("silent server");
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
    assert!(!e.may_have_run());
    assert!(started.elapsed() < Duration::from_secs(2));
}
