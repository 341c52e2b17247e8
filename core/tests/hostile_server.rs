//! What a real server cannot be made to do: malformed and unsolicited bytes. A scripted fake
//! server on loopback; each case must give a clear error, never a panic or a hang.

use std::time::Duration;

use slotwise::{cmd, Client, ErrorKind, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one connection: answers the handshake (HELLO refused, so RESP2), then answers
/// the first real command with `reply`.
async fn fake_server(reply: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut commands = 0;
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    for part in text.split("*").skip(1) {
                        commands += 1;
                        let out: &[u8] = if part.contains("HELLO") {
                            b"-ERR unknown command 'HELLO'\r\n"
                        } else if commands == 1 {
                            b"+OK\r\n"
                        } else {
                            reply
                        };
                        if sock.write_all(out).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn one_command(reply: &'static [u8]) -> slotwise::Error {
    let addr = fake_server(reply).await;
    let opts = Options::default().with_request_timeout(Duration::from_millis(500));
    let client = Client::standalone(&addr, opts)
        .await
        .expect("connect to fake");
    client
        .execute(cmd("GET").arg("k"))
        .await
        .expect_err("bad reply")
}

#[tokio::test]
async fn wrong_type_byte_is_a_protocol_error() {
    let e = one_command(b"@nonsense\r\n").await;
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    assert!(e.may_have_run());
}

#[tokio::test]
async fn absurd_bulk_length_is_refused_without_allocating_it() {
    let e = one_command(b"$99999999999\r\n").await;
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
}

#[tokio::test]
async fn unfinished_reply_times_out_and_may_have_run() {
    let e = one_command(b"$10\r\nabc").await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(e.may_have_run());
}

#[tokio::test]
async fn server_that_accepts_and_never_answers_fails_the_connect_in_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let _hold = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            socks.push(s);
        }
    });
    let opts = Options::default().with_connect_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = Client::standalone(&addr, opts)
        .await
        .expect_err("silent server");
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
    assert!(!e.may_have_run());
    assert!(started.elapsed() < Duration::from_secs(2));
}
