//! A scripted fake Redis node on loopback, for what a real server cannot be made to do
//! (malformed, cut, gigantic or unsolicited replies, silence, impossible topologies).
//! Commands are decoded with slotwise's own RESP decoder; a script decides each answer.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use slotwise::resp::{Decoder, Limits};
use slotwise::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the fake does with one command.
#[derive(Debug)]
pub enum Act {
    /// Writes these bytes (any number of replies, or part of one).
    Send(Vec<u8>),
    /// Writes these bytes, then closes the connection.
    SendAndClose(Vec<u8>),
    /// Answers nothing, keeps the connection open.
    Silent,
}

type ScriptFn = dyn Fn(&str, &[Vec<u8>]) -> Option<Act> + Send + Sync;

/// A running fake; stops accepting and drops its connections when dropped.
#[derive(Debug)]
pub struct Fake {
    pub addr: String,
    pub port: u16,
    /// Commands the script answered, plus those it left to the default other than HELLO,
    /// CLIENT, READONLY and PING.
    pub commands: Arc<AtomicUsize>,
    _task: AbortOnDrop,
}

#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Fake {
    pub fn seen(&self) -> usize {
        self.commands.load(Ordering::SeqCst)
    }
}

/// A bound port, so fakes can name each other in their scripts before they serve.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    pub port: u16,
}

pub async fn bind() -> Bound {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let port = listener.local_addr().expect("addr").port();
    Bound { listener, port }
}

impl Bound {
    /// Serves every connection with `script`: it sees each command (upper-cased name, then the
    /// arguments) and returns `None` for the default: HELLO refused (so RESP2), CLIENT,
    /// READONLY and PING answered `+OK`, anything else an error.
    pub fn serve(
        self,
        script: impl Fn(&str, &[Vec<u8>]) -> Option<Act> + Send + Sync + 'static,
    ) -> Fake {
        let commands = Arc::new(AtomicUsize::new(0));
        let script: Arc<ScriptFn> = Arc::new(script);
        let seen = commands.clone();
        let listener = self.listener;
        let task = tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                conns.retain(|c: &AbortOnDrop| !c.0.is_finished());
                conns.push(AbortOnDrop(tokio::spawn(serve(
                    sock,
                    script.clone(),
                    seen.clone(),
                ))));
            }
        });
        Fake {
            addr: format!("127.0.0.1:{}", self.port),
            port: self.port,
            commands,
            _task: AbortOnDrop(task),
        }
    }
}

/// A fake on a free port of 127.0.0.1; see [`Bound::serve`].
pub async fn spawn(
    script: impl Fn(&str, &[Vec<u8>]) -> Option<Act> + Send + Sync + 'static,
) -> Fake {
    bind().await.serve(script)
}

async fn serve(mut sock: tokio::net::TcpStream, script: Arc<ScriptFn>, seen: Arc<AtomicUsize>) {
    let mut decoder = Decoder::new(Limits::default());
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        match sock.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            let args = match decoder.decode(&mut buf) {
                Ok(Some(Value::Array(items))) => items
                    .iter()
                    .map(|v| v.as_bytes().unwrap_or_default().to_vec())
                    .collect::<Vec<_>>(),
                Ok(None) => break,
                _ => return,
            };
            let name = String::from_utf8_lossy(args.first().map(Vec::as_slice).unwrap_or_default())
                .to_ascii_uppercase();
            let act = match script(&name, &args[1..]) {
                Some(act) => {
                    seen.fetch_add(1, Ordering::SeqCst);
                    act
                }
                None => default_act(&name, &seen),
            };
            match act {
                Act::Send(b) => {
                    if sock.write_all(&b).await.is_err() {
                        return;
                    }
                }
                Act::SendAndClose(b) => {
                    let _ = sock.write_all(&b).await;
                    return;
                }
                Act::Silent => {}
            }
        }
    }
}

fn default_act(name: &str, seen: &AtomicUsize) -> Act {
    match name {
        "HELLO" => Act::Send(b"-ERR unknown command 'HELLO'\r\n".to_vec()),
        "CLIENT" | "READONLY" | "PING" => Act::Send(b"+OK\r\n".to_vec()),
        _ => {
            seen.fetch_add(1, Ordering::SeqCst);
            Act::Send(b"-ERR the fake has no script for this command\r\n".to_vec())
        }
    }
}

/// RESP2 encoding helpers for scripted replies.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

pub fn array(items: &[String]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

pub fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// One `CLUSTER SHARDS` node entry (RESP2 flat map).
pub fn shard_node(id: &str, ip: &str, port: u16, role: &str) -> String {
    array(&[
        bulk("id"),
        bulk(id),
        bulk("port"),
        int(i64::from(port)),
        bulk("ip"),
        bulk(ip),
        bulk("endpoint"),
        bulk(ip),
        bulk("role"),
        bulk(role),
        bulk("replication-offset"),
        int(0),
        bulk("health"),
        bulk("online"),
    ])
}

/// One `CLUSTER SHARDS` entry: flat slot bounds and node entries.
pub fn shard(slots: &[u16], nodes: &[String]) -> String {
    let bounds: Vec<String> = slots.iter().map(|s| int(i64::from(*s))).collect();
    array(&[bulk("slots"), array(&bounds), bulk("nodes"), array(nodes)])
}

/// Fails the test when `fut` is not done within `limit`: a hang must fail, not stall CI.
pub async fn within<T>(limit: std::time::Duration, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("did not finish within {limit:?}: a hang"),
    }
}
